"""Session snapshots: re-read a touched session's views from PostgreSQL, apply the difference.

A batch touches a session when it holds one of its page views or page leaves.
The session's views (with their leaves) are read back from the write-through
tables, compared with the snapshot Redis kept, and only the change of their
contributions (``consumers.journeys``) is applied, by ``sessions.lua``, with a
compare-and-set on the snapshot. A replay finds nothing changed; two consumers
racing on one session (a rebalance) cannot both apply the same change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import msgspec

from consumers.journeys import Contribution, PageVisit, add_contributions, decode, encode
from insights.database import Connection, array_literal
from insights.events import contract as c
from insights.readmodel.keys import WINDOWED_KINDS, Keys
from insights.readmodel.redisdb import Client, Scripts
from scoring.pages import SectionMap, sections_of
from scoring.windows import PERIODS, day_number

log = logging.getLogger(__name__)
TTL_S = 35 * 86400        # a snapshot outlives the 31-day windows its contributions sit in
ATTEMPTS = 5

_DAY = "(viewed_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'"
_SESSION_VIEWS = f"""
SELECT session_id, {_DAY}, path, time_on_page_seconds, scroll_depth_percent FROM page_views
WHERE session_id = ANY(%s::text[]) ORDER BY session_id, viewed_at, event_id COLLATE "C" """
_LONE_VIEWS = f"""
SELECT pageview_id, {_DAY}, path, time_on_page_seconds, scroll_depth_percent FROM page_views
WHERE pageview_id = ANY(%s::text[]) AND session_id IS NULL"""
_LEAVE_OWNERS = """
SELECT pageview_id, session_id FROM page_views WHERE pageview_id = ANY(%s::text[])"""


@dataclass
class TouchedSessions:
    """Sessions and session-less views whose snapshots a batch may change."""

    sessions: set[str] = field(default_factory=set)
    lone: set[str] = field(default_factory=set)
    leaves: set[str] = field(default_factory=set)   # views of leaves: found by pageview_id


def touched_sessions(events: Iterable[c.Event]) -> TouchedSessions:
    """The sessions and session-less views whose snapshots ``events`` may change."""
    t, viewed = TouchedSessions(), set()
    for e in events:
        if isinstance(e, c.PageView):
            viewed.add(e.pageview_id)
            (t.sessions if e.session_id is not None else t.lone).add(
                e.session_id if e.session_id is not None else e.pageview_id)
        elif isinstance(e, c.PageLeave):
            # A leave's own session_id may be missing or wrong: its view decides.
            t.leaves.add(e.pageview_id)
    # The events are those the durable write counted: a leave whose view is among them
    # was stored on that view, whose owner is already in; only the others are looked up.
    t.leaves -= viewed
    return t


def resolve_leaves(conn: Connection, t: TouchedSessions) -> None:
    """Move the leaves' views into ``t.sessions`` / ``t.lone``."""
    if t.leaves:
        with conn.cursor() as cur:
            cur.execute(_LEAVE_OWNERS, (array_literal(t.leaves),))
            for pageview_id, session_id in cur.fetchall():
                (t.sessions if session_id else t.lone).add(session_id or pageview_id)
        t.leaves.clear()


def read_views(conn: Connection, sessions: Iterable[str], lone: Iterable[str]
               ) -> dict[tuple[bool, str], list[PageVisit]]:
    """(in a session, owner id) -> its views now, from the write-through tables."""
    views: dict[tuple[bool, str], list[PageVisit]] = {}
    with conn.cursor() as cur:
        for sql, ids, in_session in ((_SESSION_VIEWS, list(sessions), True),
                                     (_LONE_VIEWS, list(lone), False)):
            if ids:
                cur.execute(sql, (array_literal(ids),))
                for owner, *view in cur.fetchall():
                    views.setdefault((in_session, owner), []).append(PageVisit(*view))
    return views


class Snapshots:
    """Applies the session snapshots of batches to the ``{g}`` aggregates."""

    def __init__(self, client: Client, scripts: Scripts, keys: Keys, sections: SectionMap
                 ) -> None:
        self._client, self._scripts, self._keys, self._sections = client, scripts, keys, sections
        self._cache: dict[str, list[str]] = {}
        self._window_names = {k: keys.window(k, PERIODS[0]) for k in WINDOWED_KINDS}
        self._window_names_rest = {k: [keys.window(k, p) for p in PERIODS[1:]]
                                   for k in WINDOWED_KINDS}

    def _sections_of(self, path: str) -> list[str]:
        found = self._cache.get(path)
        if found is None:
            if len(self._cache) > 100_000:      # a site with endless paths: start over
                self._cache.clear()
            found = self._cache[path] = sections_of(path, self._sections)
        return found

    def apply(self, conn: Connection, events: Sequence[c.Event], now: datetime) -> int:
        """Bring the snapshots of the sessions ``events`` touched up to date.

        Each attempt reads the snapshots first and PostgreSQL after, so the views
        it applies are at least as new as what the snapshot holds; a snapshot
        changed meanwhile (another consumer, during a rebalance) is tried again.
        """
        return self.apply_touched(conn, touched_sessions(events), now)

    def apply_touched(self, conn: Connection, t: TouchedSessions, now: datetime) -> int:
        """Bring the snapshots of the touched sessions ``t`` up to date (as ``apply``;
        a rebuild's chunks name them without their events)."""
        resolve_leaves(conn, t)
        owners = [(True, s) for s in t.sessions] + [(False, v) for v in t.lone]
        for _ in range(ATTEMPTS):
            if not owners:
                return 0
            owners = self._attempt(conn, owners, day_number(now.date()))
            if owners:
                log.info("%d session snapshots changed meanwhile; reading again", len(owners))
        raise RuntimeError(f"session snapshots kept changing under us: {owners[:5]}")

    def _window(self, names: dict[str, int], kind: str) -> int:
        """KEYS index of ``kind``'s day/week/month window sets (0: not windowed)."""
        if kind not in WINDOWED_KINDS:
            return 0
        first = self._window_names[kind]
        index = names.get(first)
        if index is None:
            index = names[first] = len(names) + 1
            for name in self._window_names_rest[kind]:
                names[name] = len(names) + 1
        return index

    def _key(self, owner: tuple[bool, str]) -> str:
        in_session, name = owner
        return self._keys.session(name) if in_session else self._keys.lone_view(name)

    def _attempt(self, conn: Connection, owners: list[tuple[bool, str]], today: int
                 ) -> list[tuple[bool, str]]:
        """Apply what changed; returns the owners whose snapshot moved under us."""
        olds = cast(list[str | None], self._client.mget([self._key(o) for o in owners]))
        current = read_views(conn, [o for s, o in owners if s], [o for s, o in owners if not s])
        conn.commit()
        names: dict[str, int] = {self._keys.asof: 1}     # KEYS[1] of sessions.lua
        snaps: list[tuple[tuple[bool, str], list[Any]]] = []
        # Summed over the batch first: its sessions share entry pages, transitions...
        deltas: dict[Contribution, int] = {}
        for owner, old in zip(owners, olds, strict=True):
            views = current.get(owner, [])
            new = encode(views)
            if (old or "") == new:
                continue
            key = self._key(owner)
            snaps.append((owner, [names.setdefault(key, len(names) + 1), old or "", new]))
            add_contributions(deltas, views, self._sections_of, in_session=owner[0])
            add_contributions(deltas, decode(old), self._sections_of, in_session=owner[0],
                              sign=-1)
        if not snaps:
            return []
        ops = [[names.setdefault(self._keys.day_set(kind, day), len(names) + 1), member, delta,
                day, self._window(names, kind)]
               for (kind, day, member), delta in deltas.items() if delta]
        payload = msgspec.json.encode([[s for _, s in snaps], ops]).decode()
        stale = self._scripts.sessions(keys=list(names), args=[TTL_S, payload, today])
        return [snaps[n - 1][0] for n in stale]
