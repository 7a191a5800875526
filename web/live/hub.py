"""The fan-out of live views: one computation per view, however many sockets watch it.

A watched document (``web.live.watched``) is what one kind of socket shows: a tab
with its period and filter, or one user's profile (a *view* below). The hub keeps
the subscribers of each view. When the consumer announces a batch, every affected
view is marked dirty; each dirty view is recomputed at most once per ``interval_s``
(however many batches came meanwhile), in a worker thread (the readers are
synchronous), and the result, when it differs from the last one sent, is offered to
every subscriber.

Each subscriber has a one-slot mailbox: a newer document replaces one not yet
sent, so a slow client gets the newest state late and never stalls the others
or makes the hub buffer for it. Each document is a numbered version of its view
(a ``Delivery``) with the JSON Patch from the version before, computed once per
view however many sockets ask for patches (``web.live.patches``).

A view that cannot be computed because a server is down (``web.outage.Unavailable``)
closes its sockets with 1013 "try again later" and the part that is down: the page
says so and reconnects, rather than showing numbers that stopped moving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from web.live.patches import diff
from web.live.watched import WatchedDocument, WatchedProfile
from web.outage import TRY_AGAIN, Unavailable

log = logging.getLogger(__name__)

Compute = Callable[[WatchedDocument], str | None]
Sleep = Callable[[float], Awaitable[None]]
"""How the hub waits a number of seconds: ``asyncio.sleep``, or a test's clock."""

SESSION_ENDED: Final = 4401
"""Close code telling the page its log-in ended (it goes to the log-in page)."""
RETRY_S: Final = 1.0
"""Wait before recomputing a view whose last computation failed."""


@dataclass(frozen=True)
class Delivery:
    """Version ``version`` of a view: its ``document`` (JSON text) and the JSON Patch
    (text) from version - 1 to it (None for a view's first version)."""

    version: int
    document: str
    patch: str | None = None

    def message(self, after: int) -> str:
        """What a socket that asked for patches and was last sent version ``after`` gets:
        the patch when it is the very next version, else the whole document."""
        if self.patch is not None and after == self.version - 1:
            return f'{{"v":{self.version},"patch":{self.patch}}}'
        return f'{{"v":{self.version},"doc":{self.document}}}'


class Subscriber:
    """One socket's mailbox (the newest document not yet sent) and its close signal.

    ``credential`` says what lets it stay open (``web.auth.identity.credential_of``): ``s:HASH``
    for a log-in session, ``t:HASH`` for an API token, None for none to re-check.
    """

    def __init__(self, credential: str | None = None) -> None:
        self.credential = credential
        self.close_code: int | None = None
        self.close_reason = ""
        self._mailbox: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=1)
        self._closed = asyncio.Event()

    def offer(self, delivery: Delivery) -> None:
        """Put ``delivery`` in the mailbox, replacing one not yet taken."""
        if self._mailbox.full():
            self._mailbox.get_nowait()
        self._mailbox.put_nowait(delivery)

    async def next(self) -> Delivery:
        """The next document to send (waits for one)."""
        return await self._mailbox.get()

    def close(self, code: int, reason: str = "") -> None:
        """Ask the socket to close with ``code`` (and a short ``reason``)."""
        self.close_code, self.close_reason = code, reason
        self._closed.set()

    async def closed(self) -> int:
        """Waits until :meth:`close`; the close code."""
        await self._closed.wait()
        return self.close_code or 1000


@dataclass
class _Watched:
    subscribers: set[Subscriber] = field(default_factory=set)
    last: Delivery | None = None
    parsed: Any = None                                  # ``last``'s document, decoded
    version: int = 0                                    # never goes back, outages included
    dirty: bool = False
    task: asyncio.Task[None] | None = None
    first: asyncio.Future[Delivery | None] | None = None   # the first computation, shared

    def advance(self, document: str) -> Delivery:
        """Make ``document`` the view's next version, with the patch from the last."""
        try:
            parsed = msgspec.json.decode(document)
        except msgspec.DecodeError:         # not JSON: sockets get it whole, never patched
            parsed = None
        patch = None
        if self.last is not None and parsed is not None and self.parsed is not None:
            patch = msgspec.json.encode(diff(self.parsed, parsed)).decode()
        self.version += 1
        self.last = Delivery(self.version, document, patch)
        self.parsed = parsed
        return self.last


class Hub:
    """Subscribers per view and the recompute loop of each watched view."""

    def __init__(self, compute: Compute, interval_s: float,
                 sleep: Sleep = asyncio.sleep) -> None:
        """Views computed by ``compute`` (in a worker thread), each at most once per
        ``interval_s``. ``sleep`` is every wait of the recompute loops (the interval, the
        retry after a failure): a test passes a clock it moves itself, so it knows when
        a loop is done with a change and decides when the next one may start."""
        self._compute, self._interval, self._sleep = compute, interval_s, sleep
        self._views: dict[WatchedDocument, _Watched] = {}
        # Since start, for the web process's metrics.
        self.computed = 0
        self.offered = 0
        self.compute_seconds = 0.0

    async def subscribe(self, view: WatchedDocument, subscriber: Subscriber
                        ) -> Delivery | None:
        """Watch ``view``; returns its current document (None: nothing to show, say an
        unknown user). The last document sent is current enough: a newer one follows
        through the mailbox. Sockets arriving together (a restart) share one computation."""
        watched = self._views.setdefault(view, _Watched())
        watched.subscribers.add(subscriber)
        if watched.last is not None:
            return watched.last
        if watched.first is None:
            watched.first = asyncio.ensure_future(self._first(view, watched))
        return await asyncio.shield(watched.first)

    async def _first(self, view: WatchedDocument, watched: _Watched) -> Delivery | None:
        """The view's first document, awaited by every socket that came meanwhile."""
        try:
            document = await self._compute_now(view)
            if document is None:
                return None
            # A refresh that came meanwhile has the newer version: that one is sent.
            return watched.advance(document) if watched.last is None else watched.last
        finally:
            watched.first = None

    def unsubscribe(self, view: WatchedDocument, subscriber: Subscriber) -> None:
        """Stop watching; a view nobody watches is forgotten (and its loop ends)."""
        watched = self._views.get(view)
        if watched is None:
            return
        watched.subscribers.discard(subscriber)
        if not watched.subscribers:
            del self._views[view]
            if watched.task is not None:
                watched.task.cancel()

    def changed(self, users: Collection[int] | None) -> None:
        """A batch was applied: every tab changed, and the profiles of ``users`` (all
        profiles when None)."""
        wanted = None if users is None else set(users)
        for view, watched in self._views.items():
            if isinstance(view, WatchedProfile) and wanted is not None and (
                    view.user_id not in wanted):
                continue
            watched.dirty = True
            if watched.task is None or watched.task.done():
                watched.task = asyncio.create_task(self._refresh(view, watched))

    def revoke(self, credentials: Collection[str]) -> int:
        """Close the sockets held by these credentials; how many were closed."""
        closed = 0
        for watched in self._views.values():
            for subscriber in watched.subscribers:
                if subscriber.credential is not None and subscriber.credential in credentials:
                    subscriber.close(SESSION_ENDED, "session ended: log in again")
                    closed += 1
        return closed

    def outage(self, outage: Unavailable) -> int:
        """A part every view needs is down: close every socket with 1013 and its reason
        (they reconnect; their next document is computed anew). How many were closed."""
        closed = 0
        for watched in self._views.values():
            closed += self._suspend(watched, outage)
        return closed

    @staticmethod
    def _suspend(watched: _Watched, outage: Unavailable) -> int:
        watched.last = watched.parsed = None   # one arriving meanwhile gets a fresh one
        for subscriber in watched.subscribers:
            subscriber.close(TRY_AGAIN, outage.reason)
        return len(watched.subscribers)

    def credentials(self) -> set[str]:
        """The credentials holding open sockets."""
        return {s.credential for w in self._views.values() for s in w.subscribers
                if s.credential is not None}

    def watchers(self) -> int:
        """Open subscriptions over all views."""
        return sum(len(w.subscribers) for w in self._views.values())

    def views(self) -> int:
        """Views with subscribers."""
        return len(self._views)

    async def _refresh(self, view: WatchedDocument, watched: _Watched) -> None:
        """Recompute while dirty, at most once per interval; fan out what changed."""
        while watched.dirty and self._views.get(view) is watched:
            watched.dirty = False
            try:
                document = await self._compute_now(view)
            except Unavailable as outage:
                log.info("live view %s: %s; its sockets close", view, outage.reason)
                self._suspend(watched, outage)
                return
            except Exception as error:
                # A failing read (Redis restarting, say) keeps the last state on screen
                # and is tried again, less often.
                log.warning("live view %s not recomputed: %r", view, error)
                watched.dirty = True
                await self._sleep(max(self._interval, RETRY_S))
                continue
            if document is not None and (watched.last is None
                                         or document != watched.last.document):
                delivery = watched.advance(document)
                for subscriber in watched.subscribers:
                    subscriber.offer(delivery)
                self.offered += len(watched.subscribers)
            await self._sleep(self._interval)

    async def _compute_now(self, view: WatchedDocument) -> str | None:
        self.computed += 1
        started = time.perf_counter()
        try:
            return await asyncio.to_thread(self._compute, view)
        finally:
            self.compute_seconds += time.perf_counter() - started
