"""A TCP proxy for fault injection: forwards to a real server, or stalls, or resets.

Modes (switch any time with :meth:`Proxy.set_mode`):

- ``forward``: bytes pass both ways;
- ``blackhole``: connections are accepted and kept, and everything is read and
  dropped, in both directions: to a client the server looks frozen (its kernel
  still acknowledges every byte, as a stopped process's does);
- ``reset``: every connection is reset (RST), existing and new.

A connection that lost bytes in a blackhole is closed once forwarding resumes
(what went through it no longer makes sense to either side).
The proxy runs its own event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

from insights.stack.ports import HOST

Mode = Literal["forward", "blackhole", "reset"]
T = TypeVar("T")
CHUNK = 65536


class _Link:
    """One client connection and its connection to the server."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.writers = (client, server)
        self.tainted = False

    def reset(self) -> None:
        for writer in self.writers:
            _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (linger 0) rather than FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Proxy:
    """Listens on a free loopback port and forwards to ``target_port`` (or not)."""

    def __init__(self, target_port: int, target_host: str = HOST) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "forward"
        self.port = 0
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="proxy",
                                        daemon=True)

    def start(self) -> Proxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, HOST, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; in ``reset`` existing connections are reset at once."""

        async def switch() -> None:
            self.mode = mode
            for link in list(self._links):
                if mode == "reset" or (mode == "forward" and link.tainted):
                    link.reset()
                    self._links.discard(link)

        self._call(switch())

    def url(self, server_url: str) -> str:
        """``server_url`` with its port replaced by the proxy's."""
        head, _, tail = server_url.partition(f":{self.target[1]}")
        assert tail or server_url.endswith(f":{self.target[1]}"), server_url
        return f"{head}:{self.port}{tail}"

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for link in list(self._links):
                link.reset()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(10)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "reset":
            _reset(writer)
            return
        if self.mode == "blackhole":          # accepted, and never answered
            with contextlib.suppress(OSError):
                while await reader.read(CHUNK) and self.mode == "blackhole":
                    pass
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(self._pump(reader, up_writer, link),
                                 self._pump(up_reader, writer, link))
        finally:
            self._links.discard(link)
            for each in link.writers:
                each.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    link: _Link) -> None:
        """Copy one direction until either side closes (dropping while blackholed)."""
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(CHUNK):
                if self.mode == "blackhole":
                    link.tainted = True
                    continue
                if link.tainted:
                    break
                writer.write(data)
                await writer.drain()
        for each in link.writers:
            each.transport.abort()
