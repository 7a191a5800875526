"""The paths tab: how sessions enter, move through and leave the site.

Only page views with a session id, in the period, count. A session's views are
ordered by (viewed_at, event_id in byte order): equal timestamps are broken by the
event id so that first page, last page and transitions are deterministic.
"""

from __future__ import annotations

from typing import Any

from harness.reference.queries import Connection, fetch, pct
from harness.reference.windows import Windows

ENTRY_EXIT_TOP = 10
TRANSITIONS_TOP = 30
DROPOFF_TOP = 20
DROPOFF_MIN_VIEWS = 5

# Each windowed view with its position in its session, the session's view count and
# the next view's path.
_ORDERED = """
    WITH ordered AS (
        SELECT session_id, path,
               row_number() OVER w AS pos,
               count(*) OVER (PARTITION BY session_id) AS total,
               lead(path) OVER w AS next_path
        FROM page_views
        WHERE viewed_at >= %(start)s AND session_id IS NOT NULL
        WINDOW w AS (PARTITION BY session_id ORDER BY viewed_at, event_id COLLATE "C")
    )"""

# (label, smallest, largest) view counts of each session-length bucket, ascending.
BUCKETS: list[tuple[str, int, int | None]] = [
    ("1 page", 1, 1), ("2 pages", 2, 2), ("3-5 pages", 3, 5), ("6-10 pages", 6, 10),
    ("10+ pages", 11, None),
]


def ends(conn: Connection, w: Windows, which: str) -> list[dict[str, Any]]:
    """Top 10 entry (``which`` = "first") or exit ("last") pages, ties by path."""
    position = "pos = 1" if which == "first" else "pos = total"
    rows = fetch(conn, _ORDERED + f"""
        SELECT path, count(*) AS n FROM ordered WHERE {position}
        GROUP BY path ORDER BY n DESC, path COLLATE "C" LIMIT %(limit)s""",
        {"start": w.start, "limit": ENTRY_EXIT_TOP})
    top = rows[0][1] if rows else 0
    return [{"path": path, "count": int(n), "bar_pct": pct(n, top)} for path, n in rows]


def transitions(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Top 30 moves between consecutive, different paths of a session (ties by from, to)."""
    rows = fetch(conn, _ORDERED + """
        SELECT path, next_path, count(*) AS n FROM ordered
        WHERE next_path IS NOT NULL AND path <> next_path
        GROUP BY path, next_path
        ORDER BY n DESC, path COLLATE "C", next_path COLLATE "C" LIMIT %(limit)s""",
        {"start": w.start, "limit": TRANSITIONS_TOP})
    return [{"from": a, "to": b, "count": int(n)} for a, b, n in rows]


def exit_rate(exits: int, views: int) -> float:
    """exits / views x 100 in percent, rounded to 1 decimal half away from zero (exact)."""
    tenths = (exits * 2000 + views) // (2 * views)
    return tenths / 10


def dropoff(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Pages with at least 5 views by exit rate, highest first (ties by path), top 20."""
    rows = fetch(conn, _ORDERED + """
        SELECT path, count(*), count(*) FILTER (WHERE pos = total) FROM ordered
        GROUP BY path HAVING count(*) >= %(min)s""",
        {"start": w.start, "min": DROPOFF_MIN_VIEWS})
    listed = [{"path": path, "views": int(v), "exits": int(e), "exit_rate": exit_rate(e, v)}
              for path, v, e in rows]
    listed.sort(key=lambda r: (-r["exit_rate"], r["path"]))
    return listed[:DROPOFF_TOP]


def session_lengths(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Sessions per bucket of windowed view count, ascending; empty buckets left out."""
    per_length = dict(fetch(conn, _ORDERED + """
        SELECT total, count(*) FROM ordered WHERE pos = 1 GROUP BY total""",
        {"start": w.start}))
    counted = []
    for label, low, high in BUCKETS:
        n = sum(int(c) for length, c in per_length.items()
                if length >= low and (high is None or length <= high))
        if n:
            counted.append((label, n))
    top = max((n for _, n in counted), default=0)
    return [{"bucket": label, "count": n, "bar_pct": pct(n, top)} for label, n in counted]


def paths_tab(conn: Connection, w: Windows) -> dict[str, Any]:
    """The whole paths tab for the period of ``w``."""
    return {"entry_pages": ends(conn, w, "first"), "exit_pages": ends(conn, w, "last"),
            "transitions": transitions(conn, w), "dropoff": dropoff(conn, w),
            "session_lengths": session_lengths(conn, w)}
