"""Session snapshots: re-read a touched session's views from PostgreSQL, apply the difference.

A batch touches a session when it holds one of its page views or page leaves.
The session's views (with their leaves) are read back from the write-through
tables, compared with the snapshot Redis kept, and only the change of their
contributions (``consumers.sessions``) is applied, by ``sessions.lua``, with a
compare-and-set on the snapshot. A replay finds nothing changed; two consumers
racing on one session (a rebalance) cannot both apply the same change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec

from consumers.sessions import View, contributions, decode, difference, encode
from insights import contract as c
from insights.database import Connection
from insights.keys import Keys
from insights.redisdb import Client, Scripts
from scoring.pages import SectionMap, sections_of

log = logging.getLogger(__name__)
TTL_S = 35 * 86400        # a snapshot outlives the 31-day windows its contributions sit in
ATTEMPTS = 5

_DAY = "(viewed_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'"
_SESSION_VIEWS = f"""
SELECT session_id, {_DAY}, path, time_on_page_seconds, scroll_depth_percent FROM page_views
WHERE session_id = ANY(%s) ORDER BY session_id, viewed_at, event_id"""
_LONE_VIEWS = f"""
SELECT pageview_id, {_DAY}, path, time_on_page_seconds, scroll_depth_percent FROM page_views
WHERE pageview_id = ANY(%s) AND session_id IS NULL"""
_LEAVE_OWNERS = "SELECT pageview_id, session_id FROM page_views WHERE pageview_id = ANY(%s)"


@dataclass
class Touched:
    """Sessions and session-less views whose snapshots a batch may change."""

    sessions: set[str] = field(default_factory=set)
    lone: set[str] = field(default_factory=set)
    leaves: set[str] = field(default_factory=set)   # leaves without a session id: look up


def touched(events: Iterable[c.Event]) -> Touched:
    t = Touched()
    for e in events:
        if isinstance(e, c.PageView | c.PageLeave) and e.session_id is not None:
            t.sessions.add(e.session_id)
        elif isinstance(e, c.PageView):
            t.lone.add(e.pageview_id)
        elif isinstance(e, c.PageLeave):
            t.leaves.add(e.pageview_id)
    return t


def read_views(conn: Connection, t: Touched) -> dict[str, tuple[bool, list[View]]]:
    """Snapshot key -> (in a session, its views now), from the write-through tables."""
    with conn.cursor() as cur:
        if t.leaves:
            cur.execute(_LEAVE_OWNERS, (list(t.leaves),))
            for pageview_id, session_id in cur.fetchall():
                (t.sessions if session_id else t.lone).add(session_id or pageview_id)
        views: dict[str, tuple[bool, list[View]]] = {}
        for sql, ids, in_session in ((_SESSION_VIEWS, t.sessions, True),
                                     (_LONE_VIEWS, t.lone, False)):
            if ids:
                cur.execute(sql, (list(ids),))
                for owner, *view in cur.fetchall():
                    views.setdefault(owner, (in_session, []))[1].append(View(*view))
    return views


class Snapshots:
    """Applies the session snapshots of batches to the ``{g}`` aggregates."""

    def __init__(self, client: Client, scripts: Scripts, keys: Keys, sections: SectionMap
                 ) -> None:
        self._client, self._scripts, self._keys, self._sections = client, scripts, keys, sections
        self._cache: dict[str, list[str]] = {}

    def _sections_of(self, path: str) -> list[str]:
        found = self._cache.get(path)
        if found is None:
            if len(self._cache) > 100_000:      # a site with endless paths: start over
                self._cache.clear()
            found = self._cache[path] = sections_of(path, self._sections)
        return found

    def apply(self, conn: Connection, events: Sequence[c.Event]) -> int:
        """Bring the snapshots of the sessions ``events`` touched up to date."""
        t = touched(events)
        if not (t.sessions or t.lone or t.leaves):
            return 0
        current = read_views(conn, t)
        conn.commit()
        owners = {(self._keys.session(o) if s else self._keys.lone_view(o)): (s, v)
                  for o, (s, v) in current.items()}
        for _ in range(ATTEMPTS):
            stale = self._attempt(owners)
            if not stale:
                return len(owners)
            log.info("%d session snapshots changed meanwhile; re-reading them", len(stale))
            owners = {k: owners[k] for k in stale}
        raise RuntimeError(f"session snapshots kept changing under us: {sorted(owners)[:5]}")

    def _attempt(self, owners: dict[str, tuple[bool, list[View]]]) -> list[str]:
        keys = list(owners)
        olds = cast(list[str | None], self._client.mget(keys)) if keys else []
        names: dict[str, int] = {k: i for i, k in enumerate(keys)}
        snaps: list[Any] = []
        ops: list[Any] = []
        for key, old in zip(keys, olds, strict=True):
            in_session, views = owners[key]
            new = encode(views)
            if (old or "") == new:
                continue
            snaps.append([names[key], old or "", new, TTL_S])
            before = contributions(decode(old), self._sections_of, in_session=in_session)
            after = contributions(views, self._sections_of, in_session=in_session)
            for (kind, day, member), delta in difference(before, after):
                name = self._keys.day_set(kind, day)
                index = names.setdefault(name, len(names))
                ops.append([index, member, delta])
        if not snaps:
            return []
        payload = msgspec.json.encode([list(names), snaps, ops]).decode()
        stale = self._scripts.sessions(args=[payload])
        if not stale:
            pipe = self._client.pipeline(transaction=False)
            for name in list(names)[len(keys):]:
                pipe.expire(name, TTL_S)
            pipe.execute()
        return [keys[snaps[s - 1][0]] for s in stale]
