"""The overview tab: daily chart, hourly heatmap, logged vs anonymous, weekly devices.

The period does not change it; ``filter`` (all, logged, anonymous) changes only the
chart's session counts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from harness.reference.queries import Connection, counts_by_key, fetch, pct
from harness.reference.windows import Windows, midnight

CHART_DAYS = 31
DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
DEVICE_TYPES = ["desktop", "mobile", "tablet"]
_SESSION_FILTER = {"all": "TRUE", "logged": "user_id IS NOT NULL",
                   "anonymous": "user_id IS NULL"}


def chart(conn: Connection, w: Windows, filter_: str) -> dict[str, list[Any]]:
    """Sessions started (filtered) and page views per UTC day, today-30 .. today."""
    days = w.last_days(CHART_DAYS)
    params = {"start": midnight(days[0])}
    sessions: dict[date, int] = counts_by_key(conn, f"""
        SELECT (started_at AT TIME ZONE 'UTC')::date AS day, count(*) FROM user_sessions
        WHERE started_at >= %(start)s AND {_SESSION_FILTER[filter_]}
        GROUP BY day""", params)
    views: dict[date, int] = counts_by_key(conn, """
        SELECT (viewed_at AT TIME ZONE 'UTC')::date AS day, count(*) FROM page_views
        WHERE viewed_at >= %(start)s GROUP BY day""", params)
    return {"labels": [d.isoformat() for d in days],
            "sessions": [sessions.get(d, 0) for d in days],
            "pageviews": [views.get(d, 0) for d in days]}


def heatmap(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Sessions started in the month window by UTC weekday (row 0 = Sunday) and hour."""
    cells = {(int(dow), int(hour)): int(n) for dow, hour, n in fetch(conn, """
        SELECT extract(DOW FROM started_at AT TIME ZONE 'UTC') AS dow,
               extract(HOUR FROM started_at AT TIME ZONE 'UTC') AS hour, count(*)
        FROM user_sessions WHERE started_at >= %(start)s
        GROUP BY dow, hour""", {"start": w.start_30d})}
    hottest = max(cells.values(), default=0)
    return [{"name": name,
             "hours": [{"count": cells.get((dow, h), 0),
                        "intensity": pct(cells.get((dow, h), 0), hottest)}
                       for h in range(24)]}
            for dow, name in enumerate(DAY_NAMES)]


def logged_vs_anon(conn: Connection, w: Windows) -> dict[str, int]:
    """Sessions of the month window with and without a user id."""
    ((logged, anonymous),) = fetch(conn, """
        SELECT count(user_id), count(*) - count(user_id) FROM user_sessions
        WHERE started_at >= %(start)s""", {"start": w.start_30d})
    return {"logged": int(logged), "anonymous": int(anonymous)}


def devices(conn: Connection, w: Windows) -> dict[str, list[Any]]:
    """Sessions of the month window per ISO week (labelled by its Monday) and device."""
    per_week: dict[date, dict[str | None, int]] = {}
    for week, device, n in fetch(conn, """
            SELECT date_trunc('week', started_at AT TIME ZONE 'UTC')::date AS week,
                   device_type, count(*)
            FROM user_sessions WHERE started_at >= %(start)s
            GROUP BY week, device_type""", {"start": w.start_30d}):
        per_week.setdefault(week, {})[device] = int(n)
    weeks = sorted(per_week)
    return {"labels": [week.isoformat() for week in weeks],
            **{kind: [per_week[week].get(kind, 0) for week in weeks]
               for kind in DEVICE_TYPES}}


def overview_tab(conn: Connection, w: Windows, filter_: str) -> dict[str, Any]:
    """The whole overview tab; raises ValueError for an unknown filter."""
    if filter_ not in _SESSION_FILTER:
        raise ValueError(f"unknown filter {filter_!r}")
    return {"filter_type": filter_, "chart_data": chart(conn, w, filter_),
            "heatmap": heatmap(conn, w), "logged_vs_anon": logged_vs_anon(conn, w),
            "devices": devices(conn, w)}
