"""Bounds on HTTP requests the app sees: body size, time to send the body, and how many
requests one web process handles at once (an ASGI middleware, whatever the server).

- A ``Content-Length`` above ``max_body_bytes`` is answered 413 before the app runs; a
  body without one (chunked) is counted as the app reads it and answered 413 when it
  passes the limit.
- The body must arrive within ``body_timeout_s`` of the request's headers; a body the app
  is still waiting for after that is answered 408.
- A response to a request whose body did not arrive whole (the app answered without
  reading it, or refused it) closes the connection: the rest of the body would otherwise
  keep the connection busy, a byte at a time if the client likes.
- Beyond ``max_requests`` requests in progress, a request is answered 503 with
  ``Retry-After``.

Every refusal here is JSON (``{"detail": ...}``, as the API's errors) and closes the
connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyLimits:
    """The bounds of :class:`RequestLimits`."""

    max_body_bytes: int = 65536
    body_timeout_s: float = 20.0
    max_requests: int = 100


DISCONNECT: Message = {"type": "http.disconnect"}


async def refuse(send: Send, status: int, detail: str,
                 headers: dict[str, str] | None = None) -> None:
    """Answer ``status`` with ``{"detail": detail}`` and close the connection (a body it
    may have is not read)."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def declared_length(headers: Headers) -> int | None:
    """The request's ``Content-Length`` (None without one; the server checked its form)."""
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


class RequestLimits:
    """The ASGI middleware described in this module's docstring."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app, self.limits = app, limits
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limits.max_requests:
            log.warning("request refused: %d requests in progress", self.active)
            await refuse(send, 503, "too many requests in progress; retry shortly",
                         headers={"Retry-After": "1"})
            return
        headers = Headers(scope=scope)
        length = declared_length(headers)
        if length is not None and length > self.limits.max_body_bytes:
            await refuse(send, 413, f"request body over {self.limits.max_body_bytes} bytes")
            return
        expects_body = (length or 0) > 0 or "transfer-encoding" in headers
        self.active += 1
        try:
            await _Exchange(self.limits, receive, send, expects_body).run(self.app, scope)
        finally:
            self.active -= 1


class _Exchange:
    """One request: its body counted and timed, the app's answer watched."""

    def __init__(self, limits: BodyLimits, receive: Receive, send: Send,
                 expects_body: bool) -> None:
        self.limits, self._receive, self._send = limits, receive, send
        self.body_done = not expects_body
        self.received = 0
        self.started = False        # a response began (the app's or ours)
        self.answered = False       # we answered: what the app sends is dropped
        self.deadline = asyncio.get_running_loop().time() + limits.body_timeout_s

    async def run(self, app: ASGIApp, scope: Scope) -> None:
        await app(scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.answered:
            return DISCONNECT
        if self.body_done or self.started:
            return await self._receive()
        remaining = self.deadline - asyncio.get_running_loop().time()
        try:
            message = await asyncio.wait_for(self._receive(), max(remaining, 0.0))
        except TimeoutError:
            await self._answer(408, f"request body not received within "
                                    f"{self.limits.body_timeout_s:g} s")
            return DISCONNECT
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limits.max_body_bytes:
                await self._answer(413, f"request body over {self.limits.max_body_bytes} bytes")
                return DISCONNECT
            self.body_done = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if not self.body_done:
                MutableHeaders(scope=message)["connection"] = "close"
        await self._send(message)

    async def _answer(self, status: int, detail: str) -> None:
        log.warning("request refused: %d %s", status, detail)
        self.answered = self.started = True
        await refuse(self._send, status, detail)
