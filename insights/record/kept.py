"""The rows a profile shows however old they are, which retention therefore keeps.

A profile lists each user's newest rows of several kinds, all time (``LATEST``,
``HISTORY``): the timeline's sessions, views, searches, conversions, password
resets and security alerts, and the lists of JS errors, slow pages and searches,
each JS error with its page (the view before it in its session).
Everything else a profile or the read model reads lies within the last
``scoring``-defined windows (at most 62 days), far inside any allowed retention.

``needed(table, source)`` is the SQL of the event ids in ``source`` (a partition
of ``table``) that are among their owner's newest of a kind across the whole table:
for each owner in ``source``, the time of their Nth newest row (one index scan of N
entries) is the edge; rows at or after it are kept, ties included, so whichever
rows a profile's ``ORDER BY time DESC LIMIT N`` picks among equal times survive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from scoring.pages import SLOW_PAGE_MS

#: How many of each kind a profile's timeline reads (all time).
LATEST: Final[Mapping[str, int]] = {
    "sessions": 20, "views": 50, "searches": 10, "conversions": 10, "resets": 5, "alerts": 10,
}
#: How many JS errors, slow pages and searches a profile lists (all time).
HISTORY: Final = 10


@dataclass(frozen=True)
class Kind:
    """One list a profile shows. SQL templates over a row alias ``{r}``: ``owner`` is
    whose row it is, ``where`` which rows the list holds; ``owned`` matches the rows of
    owner ``{o}``. The list shows the owner's newest ``n``."""

    n: int
    owner: str = "{r}.user_id"
    where: str = "TRUE"
    owned: str = "{r}.user_id = {o}"


_SESSION_USER = "(SELECT s.user_id FROM user_sessions s WHERE s.session_id = {r}.session_id)"
_SESSIONS_OF = "{r}.session_id IN (SELECT s.session_id FROM user_sessions s WHERE s.user_id = {o})"
_SLOW = f"{{r}}.load_time_ms > {SLOW_PAGE_MS}"

#: Per partitioned table, the lists its rows appear in (none: no row is kept).
KINDS: Final[Mapping[str, tuple[Kind, ...]]] = {
    "page_views": (Kind(LATEST["views"]), Kind(HISTORY, where=_SLOW)),
    "search_queries": (Kind(max(LATEST["searches"], HISTORY)),),
    "conversion_events": (Kind(LATEST["conversions"]),),
    "email_logs": (Kind(LATEST["resets"], where="{r}.email_type = 'password_reset'"),),
    "security_alerts": (Kind(LATEST["alerts"], owner="{r}.user_email",
                             owned="{r}.user_email = {o}"),),
    # An error is its session's user's (the profile joins errors to sessions).
    "js_errors": (Kind(HISTORY, owner=_SESSION_USER, owned=_SESSIONS_OF),),
    "state_events": (),
}


def needed(table: str, time_column: str, source: str) -> str | None:
    """SQL selecting the ``event_id`` of every row of ``source`` (a relation holding rows
    of ``table``) that a profile still shows; None when no row of ``table`` ever is."""
    kinds = KINDS[table]
    if not kinds:
        return None
    parts = [_kept(table, time_column, source, kind) for kind in kinds]
    if table == "page_views":
        parts.append(_error_pages(source))
    return "\nUNION ".join(parts)


def _error_pages(source: str) -> str:
    """The views of ``source`` that are a JS error's page (a profile lists each error
    with its session's last view at or before it; ties by event id, as it reads them).
    Views of errors that go too are kept this once; the next run trims them."""
    return f"""
SELECT src.event_id FROM {source} src
WHERE src.session_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM js_errors e
    WHERE e.session_id = src.session_id AND e.occurred_at >= src.viewed_at
      AND NOT EXISTS (
        SELECT 1 FROM page_views v WHERE v.session_id = src.session_id
          AND v.viewed_at <= e.occurred_at AND (v.viewed_at > src.viewed_at
           OR (v.viewed_at = src.viewed_at
               AND v.event_id COLLATE "C" > src.event_id COLLATE "C"))))"""


def _kept(table: str, col: str, source: str, kind: Kind) -> str:
    """The rows of ``source`` at or after their owner's edge: the time of the owner's
    ``n``th newest row of the kind in the whole table (none: fewer rows, all kept)."""
    return f"""
SELECT src.event_id FROM {source} src JOIN (
    SELECT o.owner, (SELECT t.{col} FROM {table} t
                     WHERE {kind.owned.format(r="t", o="o.owner")} AND {kind.where.format(r="t")}
                     ORDER BY t.{col} DESC OFFSET {kind.n - 1} LIMIT 1) AS edge
    FROM (SELECT DISTINCT {kind.owner.format(r="d")} AS owner FROM {source} d
          WHERE {kind.where.format(r="d")}) o
    WHERE o.owner IS NOT NULL
) e ON e.owner = {kind.owner.format(r="src")}
WHERE {kind.where.format(r="src")} AND (e.edge IS NULL OR src.{col} >= e.edge)"""
