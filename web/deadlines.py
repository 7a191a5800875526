"""PostgreSQL calls of the web app that give up in bounded time, even on a frozen server.

libpq waits for an answer as long as it takes: a server that accepted the
connection and then says nothing (a process stopped, a network dropping packets,
a proxy stuck) holds the request forever. ``statement_timeout`` does not help (the
server is not running it) and TCP keepalives are answered by the server's kernel.
So every call that waits for the server (``execute``, ``commit``, ``rollback``) arms
a :class:`Watchdog` deadline; when it passes, the connection's socket is shut
down, libpq's wait ends, and the call raises :class:`Stalled` (an
``OperationalError``: SQLAlchemy discards the connection as a lost one).

Connecting cannot be watched that way (there is no socket yet, and libpq's own
``connect_timeout`` is whole seconds, at least 2), so it runs in a helper thread
that the caller stops waiting for at the deadline. After a stall, new connections
are not tried for one deadline: a request that finds its pooled connection dead
answers at once instead of also waiting for a new one.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final

import psycopg2
import psycopg2.extensions

log = logging.getLogger(__name__)

LIBPQ_CONNECT_TIMEOUT_S: Final = 2
"""libpq's own connect timeout (its least): how long an abandoned connect may linger."""


class Stalled(psycopg2.OperationalError):
    """PostgreSQL sent nothing within the deadline; the connection was dropped."""


class Watchdog:
    """One thread running an action when its deadline passes, unless disarmed first.

    Actions run under the lock, so once :meth:`disarm` returns the action either ran
    completely or never will.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, Callable[[], None]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, after_s: float, action: Callable[[], None]) -> int:
        """Run ``action`` in ``after_s`` seconds; the token to disarm it."""
        with self._cond:
            token = next(self._tokens)
            heapq.heappush(self._heap, (time.monotonic() + after_s, token))
            self._armed[token] = action
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines",
                                                daemon=True)
                self._thread.start()
            if self._heap[0][1] == token:
                self._cond.notify()
            return token

    def disarm(self, token: int) -> bool:
        """Cancel the action; False when it already ran."""
        with self._cond:
            return self._armed.pop(token, None) is not None

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)           # disarmed meanwhile
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                action = self._armed.pop(token)
                try:
                    action()
                except Exception:
                    log.exception("deadline action failed")


WATCHDOG: Final = Watchdog()


class Guard:
    """The deadline of one engine's connections, and when they last stalled."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self._quiet_until = 0.0

    def stalled(self) -> None:
        """A call got no answer: do not try new connections for one deadline."""
        self._quiet_until = time.monotonic() + self.deadline_s

    def check_quiet(self) -> None:
        """Raise :class:`Stalled` while new connections are not tried."""
        if time.monotonic() < self._quiet_until:
            raise Stalled(f"PostgreSQL did not answer within {self.deadline_s:g} s just now;"
                          " not asked again yet")

    @contextlib.contextmanager
    def bounded(self, conn: psycopg2.extensions.connection) -> Iterator[None]:
        """Cut ``conn`` if the call inside has no answer within the deadline."""
        token = WATCHDOG.arm(self.deadline_s, lambda: _cut(conn))
        try:
            yield
        except psycopg2.Error as error:
            if WATCHDOG.disarm(token):
                raise
            self.stalled()
            raise Stalled(f"PostgreSQL did not answer within {self.deadline_s:g} s") from error
        else:
            WATCHDOG.disarm(token)

    def connect(self, *args: Any, **params: Any) -> psycopg2.extensions.connection:
        """A :class:`GuardedConnection` made within the deadline, else :class:`Stalled`.

        The attempt runs in a helper thread; one abandoned at the deadline closes its
        connection should it still come.
        """
        self.check_quiet()
        params = {**params, "connect_timeout": LIBPQ_CONNECT_TIMEOUT_S,
                  "connection_factory": GuardedConnection}
        made: Future[GuardedConnection] = Future()

        def attempt() -> None:
            try:
                made.set_result(psycopg2.connect(*args, **params))
            except BaseException as error:
                made.set_exception(error)

        threading.Thread(target=attempt, name="pg-connect", daemon=True).start()
        try:
            conn = made.result(self.deadline_s)
        except FutureTimeout:
            made.add_done_callback(_close_late)
            self.stalled()
            raise Stalled(f"PostgreSQL did not accept a connection within "
                          f"{self.deadline_s:g} s") from None
        conn.guard = self
        return conn


def _close_late(made: Future[GuardedConnection]) -> None:
    if made.exception() is None:
        made.result().close()


def _cut(conn: psycopg2.extensions.connection) -> None:
    """Shut down the connection's socket: libpq's wait for an answer ends at once."""
    with contextlib.suppress(psycopg2.Error, OSError):
        dup = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()


class GuardedCursor(psycopg2.extensions.cursor):
    """A cursor whose statements are bounded by the connection's :class:`Guard`."""

    connection: GuardedConnection

    def execute(self, query: Any, vars: Any = None) -> None:
        with self.connection.watched():
            super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> None:
        with self.connection.watched():
            super().executemany(query, vars_list)


class GuardedConnection(psycopg2.extensions.connection):
    """A connection whose every wait for the server is bounded (once given a guard)."""

    guard: Guard | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = GuardedCursor

    def watched(self) -> contextlib.AbstractContextManager[None]:
        """The guard's deadline around one call (none before the guard is set)."""
        return self.guard.bounded(self) if self.guard else contextlib.nullcontext()

    def commit(self) -> None:
        with self.watched():
            super().commit()

    def rollback(self) -> None:
        with self.watched():
            super().rollback()
