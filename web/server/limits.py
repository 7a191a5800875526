"""The web server's bounds in one place: what uvicorn is told (``insights serve``) and the
middleware the app installs (``web.app``). The README's "Limits" paragraph lists them.

- uvicorn: :mod:`web.server.http_protocol` (request head size and time), ``limit_concurrency``
  (connections, idle keep-alive ones and WebSockets included: beyond it every new HTTP
  request gets 503), ``timeout_keep_alive``, and the largest WebSocket message.
- the app: :mod:`web.server.security_headers` (outermost, so refusals carry them too) and
  :mod:`web.server.request_limits` (body size and time, requests at once).

WebSockets per log-in and in all are counted by ``web.server.socket_quota``.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI

from insights.settings import Settings
from web.server.http_protocol import HeadLimits, protocol_class
from web.server.request_limits import BodyLimits, RequestLimits
from web.server.security_headers import SecurityHeaders

#: Seconds an idle kept-alive connection stays open between requests (uvicorn's default).
KEEP_ALIVE_S: Final = 5
#: Largest WebSocket message a client may send (it sends nothing the app uses); beyond it
#: the socket closes with 1009.
WS_MAX_MESSAGE_BYTES: Final = 16384


def install(app: FastAPI, settings: Settings) -> None:
    """Add the bounding and security-header middleware to ``app``."""
    app.add_middleware(RequestLimits, limits=BodyLimits(
        max_body_bytes=settings.web_max_body_bytes, body_timeout_s=settings.web_body_timeout_s,
        max_requests=settings.web_max_requests))
    app.add_middleware(SecurityHeaders)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound the server."""
    return {
        "http": protocol_class(HeadLimits(max_bytes=settings.web_max_header_bytes,
                                          timeout_s=settings.web_header_timeout_s)),
        # uvicorn counts every open connection, WebSockets included, against this.
        "limit_concurrency": settings.web_max_connections + settings.web_max_sockets,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "ws_max_size": WS_MAX_MESSAGE_BYTES,
    }
