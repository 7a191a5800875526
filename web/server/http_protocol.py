"""The HTTP/1.1 protocol ``insights serve`` runs: uvicorn's httptools protocol with a size
limit and a deadline on each request's head (its request line and headers).

uvicorn enforces neither with httptools, the parser it picks when installed: llhttp has
no size limit (a 20 MB header was taken whole in a test) and uvicorn's only timer,
``timeout_keep_alive``, runs between requests and stops at the first byte, so a client
sending a byte every few seconds holds a connection, and its buffers, for ever. Here:

- a head larger than ``max_bytes`` is answered 431 and its connection closed as soon as
  the limit is passed (the parser never buffers much more than that);
- a head not complete ``timeout_s`` after its first byte (the first request's: after the
  connection opened) is answered 408 and its connection closed; a connection that sent
  nothing at all is just closed (browsers open spare connections and may never use them).

Request bodies are bounded by ``web.server.request_limits``: the app sees them.
"""

from __future__ import annotations

import asyncio
import http
import logging
from dataclasses import dataclass
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadLimits:
    """Largest request head (bytes) and the time allowed to send it (seconds)."""

    max_bytes: int = 16384
    timeout_s: float = 10.0


class _HeadTooLarge(Exception):
    """Raised from a parser callback: the parser stops, uvicorn answers through
    :meth:`GuardedProtocol.send_400_response`."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`HeadLimits` (see :func:`protocol_class`)."""

    limits: ClassVar[HeadLimits] = HeadLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        self._oversize = False
        super().connection_made(transport)
        self._start_head()
        self._head_seen = False     # no byte yet: a spare connection, closed quietly

    def _start_head(self) -> None:
        self._in_head, self._head_seen = True, True
        self._head_bytes = 0        # parsed pieces of the head (exact)
        self._head_fed = 0          # bytes fed while the head is incomplete (bounds buffers)
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.timeout_s, self._head_timeout)

    def _end_head(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        counted = self._in_head
        if counted:
            self._head_fed += len(data)
            self._head_seen = self._head_seen or bool(data)
        super().data_received(data)
        # A header still being sent is buffered by the parser until it ends.
        if (counted and self._in_head and self._head_fed > self.limits.max_bytes
                and not self.transport.is_closing()):
            self._refuse(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    # Parser callbacks: count the head as it is parsed.

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:       # a later request on a kept-alive connection
            self._start_head()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)     # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_bytes:
            self._oversize = True
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if self._oversize:
            self._refuse(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        else:
            super().send_400_response(msg)

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if not self._head_seen or (self.cycle is not None and not self.cycle.response_complete):
            # Nothing sent at all, or a response is being written: no room for a 408.
            self.transport.close()
        else:
            self._refuse(http.HTTPStatus.REQUEST_TIMEOUT)

    def _refuse(self, status: http.HTTPStatus) -> None:
        """Answer ``status`` and close the connection."""
        self._end_head()
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
        log.warning("request from %s refused: %d %s", client, status, status.phrase)
        body = status.phrase.encode()
        lines = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [b"content-type: text/plain; charset=utf-8",
                  b"content-length: " + str(len(body)).encode(), b"connection: close"]
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        self.transport.close()


def protocol_class(limits: HeadLimits) -> type[GuardedProtocol]:
    """The protocol class to give uvicorn (``http=``), bound to ``limits``."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})
