"""What the web app answers while a part it needs is down: one exception, one answer.

:class:`Unavailable` names the part (``redis``, ``postgres``, ``read model``), says
what is wrong in words fit for any client (server errors' own texts, which name
hosts and ports, only go to the log) and how long to wait. :func:`of` recognises the
clients' outage errors (Redis connection errors and timeouts, PostgreSQL errors of
the connection, a stalled server, a pool with no free connection) as one.

:func:`install` makes every route answer them alike: ``503`` with ``Retry-After``,
JSON under ``/api`` (``{"detail": ..., "unavailable": [part]}``) and a small HTML
page elsewhere, which reloads itself. Any other error stays a 500: it is a bug, not
an outage. The live sockets close with :data:`TRY_AGAIN` and :attr:`Unavailable.reason`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, Final, cast

import psycopg2
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request, WebSocket, status
from fastapi.responses import Response
from psycopg2 import errors as pg_errors

from web.deadlines import Stalled
from web.documents.common import ServiceUnavailable
from web.formats import Document

log = logging.getLogger(__name__)

RETRY_AFTER_S: Final = 5
"""What ``Retry-After`` says for a server that is down: long enough not to hammer it,
short enough that a page is back soon after it is."""
TRY_AGAIN: Final = 1013
"""WebSocket close code "Try Again Later" (RFC 6455, IANA registry)."""
LOG_EVERY_S: Final = 10.0
"""An outage is logged as a warning at most this often per part (then at debug level)."""
NAMES: Final = {"redis": "Redis", "postgres": "PostgreSQL", "read model": "The read model"}


class Unavailable(Exception):
    """A part the answer needs is down; the client should retry after ``retry_after_s``.

    ``state`` is one word for ``/healthz`` and socket close reasons: ``unreachable``,
    ``timeout``, ``rebuilding``...; ``detail`` a sentence for people.
    """

    def __init__(self, part: str, detail: str, retry_after_s: int = RETRY_AFTER_S, *,
                 state: str = "unavailable") -> None:
        super().__init__(detail)
        self.part, self.detail, self.state = part, detail, state
        self.retry_after_s = max(1, int(retry_after_s))

    @property
    def reason(self) -> str:
        """The close reason of a live socket, e.g. ``redis timeout`` (short: a close frame
        holds 123 bytes)."""
        return f"{self.part} {self.state}"[:120]


def _down(part: str, state: str) -> Unavailable:
    said = {"unreachable": "is unreachable", "timeout": "did not answer in time",
            "busy": "has no free connection"}[state]
    return Unavailable(part, f"{NAMES[part]} {said}; try again shortly.", state=state)


def of(error: BaseException) -> Unavailable | None:
    """``error`` as an outage, or None when it is not one (a bug, a bad query...)."""
    if isinstance(error, Unavailable):
        return error
    if isinstance(error, redis.exceptions.TimeoutError):
        return _down("redis", "timeout")
    if isinstance(error, redis.exceptions.ConnectionError):
        return _down("redis", "unreachable")
    if isinstance(error, sqlalchemy.exc.TimeoutError):      # no pooled connection came free
        return _down("postgres", "busy")
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        found = _postgres(error.orig)
        if found is None and error.connection_invalidated:
            return _down("postgres", "unreachable")
        return found
    return _postgres(error)


def _postgres(error: BaseException | None) -> Unavailable | None:
    """A psycopg2 error of the connection or the server's state as an outage."""
    if isinstance(error, Stalled | pg_errors.QueryCanceled):
        return _down("postgres", "timeout")
    if isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError):
        return _down("postgres", "unreachable")
    return None


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Raise the clients' outage errors inside as :class:`Unavailable` (for code that is
    not a route: the live views, the sockets' admission)."""
    try:
        yield
    except Unavailable:
        raise
    except Exception as error:
        outage = of(error)
        if outage is None:
            raise
        _note(outage, error, "live")
        raise outage from error


def install(app: FastAPI) -> None:
    """Answer outages with 503 on every route of ``app`` (see the module's docstring)."""
    for kind in (Unavailable, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                 sqlalchemy.exc.DBAPIError, sqlalchemy.exc.TimeoutError,
                 psycopg2.OperationalError, psycopg2.InterfaceError):
        # One handler for both scopes: Starlette's types want one per scope.
        app.add_exception_handler(kind, cast(Any, _handle))


async def _handle(conn: Request | WebSocket, error: Exception) -> Response | None:
    outage = of(error)
    if outage is None:
        raise error          # not an outage: the server's 500, with its traceback logged
    _note(outage, error, f"{conn.scope.get('method', 'WS')} {conn.url.path}")
    if isinstance(conn, WebSocket):
        with contextlib.suppress(Exception):
            await conn.close(TRY_AGAIN, outage.reason)
        return None
    if conn.url.path == "/api" or conn.url.path.startswith("/api/"):
        return json_answer(outage)
    return html_answer(conn, outage)


def headers(outage: Unavailable) -> dict[str, str]:
    """The headers of every outage answer."""
    return {"Retry-After": str(outage.retry_after_s), "Cache-Control": "no-store"}


def json_answer(outage: Unavailable) -> Response:
    """The 503 of the JSON API."""
    return Document(ServiceUnavailable(detail=outage.detail, unavailable=[outage.part],
                                       retry_after=outage.retry_after_s),
                    status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers(outage))


def html_answer(request: Request, outage: Unavailable) -> Response:
    """The 503 of the pages: what is down, and a page that reloads itself."""
    # Reloaded by URL, not "this page": a browser takes a refresh of ``/#/problems`` to
    # itself as a jump within the page. One leading slash: ``//host`` would leave the site.
    again = "/" + request.url.path.lstrip("/")
    context: dict[str, Any] = {"static": "/static", "part": outage.part, "again": again,
                               "detail": outage.detail, "retry_after": outage.retry_after_s}
    response: Response = request.app.state.web.templates.TemplateResponse(
        request, "unavailable.html", context, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    response.headers.update(headers(outage))     # security headers: web.server.security_headers
    return response


_last_logged: dict[str, float] = {}
_log_lock = threading.Lock()


def _note(outage: Unavailable, error: BaseException, where: str) -> None:
    """Log the outage with the server error's own text: a warning per part at most every
    :data:`LOG_EVERY_S`, so an outage under load does not flood the log."""
    now = time.monotonic()
    with _log_lock:
        loud = now - _last_logged.get(outage.part, -LOG_EVERY_S) >= LOG_EVERY_S
        if loud:
            _last_logged[outage.part] = now
    log.log(logging.WARNING if loud else logging.DEBUG, "%s: %s %s (%s: %s)", where,
            outage.part, outage.state, type(error).__name__, str(error).strip()[:300])
