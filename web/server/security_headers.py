"""The security headers of every HTTP response, set in one place (an ASGI middleware).

The page, the log-in form, ``/docs``, ``/openapi.json``, the API's JSON and CSV and the
static assets all get the same Content-Security-Policy (no inline script, nothing from
elsewhere, no framing) and companions. ``Cache-Control: no-store`` unless the response
chose its own (the static assets are revalidated instead), so no answer holding a
user's data is kept by a browser or a shared cache. Over HTTPS (the request's scheme,
which uvicorn takes from ``X-Forwarded-Proto`` of a trusted proxy,
``INSIGHTS_WEB_FORWARDED_ALLOW_IPS``) responses also carry HSTS.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
              " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: One year; no ``includeSubDomains``: other hosts under the same domain are not ours.
HSTS: Final = "max-age=31536000"


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` a response does not set itself, and HSTS over HTTPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
