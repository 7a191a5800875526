"""A tracked user's profile: scores, timeline, habits and problem history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from harness.reference import activity
from harness.reference.queries import (
    TRACKED,
    Connection,
    counts_by_key,
    fetch,
    pct,
    truncated_mean,
    user_object,
)
from harness.reference.scores import EngagementParts, engagement_score, problem_score
from harness.reference.timeline import timeline
from harness.reference.windows import Windows, iso, midnight, utc_date

TREND_DAYS = 30
LATEST = 10


def scores(conn: Connection, w: Windows, uid: int, failed: int, locked: bool) -> dict[str, int]:
    """Engagement (month window) and problem score (week window; resets month)."""
    parts = activity.engagement_parts(conn, w.start_30d, uid).get(uid, EngagementParts())
    return {
        "engagement_score": engagement_score(parts),
        "problem_score": problem_score(
            failed_logins=failed,
            password_resets=_one(activity.password_resets(conn, w.start_30d, uid), uid),
            js_errors=_one(activity.js_errors(conn, w.start_7d, uid), uid),
            slow_pages=_one(activity.views(conn, w.start_7d, uid, slow_only=True), uid),
            security_alerts=_one(activity.security_alerts(conn, w.start_7d, uid), uid),
            is_locked=locked),
    }


def _one(counts: Mapping[int, int], uid: int) -> int:
    return counts.get(uid, 0)


def fav_pages(conn: Connection, w: Windows, uid: int) -> list[dict[str, Any]]:
    """The user's 10 most viewed paths in the month window (ties by path)."""
    rows = fetch(conn, """
        SELECT path, count(*) AS n FROM page_views
        WHERE user_id = %(uid)s AND viewed_at >= %(start)s
        GROUP BY path ORDER BY n DESC, path COLLATE "C" LIMIT 10""",
        {"uid": uid, "start": w.start_30d})
    top = rows[0][1] if rows else 0
    return [{"path": p, "count": int(n), "bar_pct": pct(n, top)} for p, n in rows]


def devices_and_browsers(conn: Connection, w: Windows, uid: int) -> dict[str, Any]:
    """Month-window sessions per device type (all) and per browser (top 5);
    a null value is "unknown"; ordered by count desc, then name."""
    params = {"uid": uid, "start": w.start_30d}
    out: dict[str, Any] = {}
    for key, column, label, limit in (("devices", "device_type", "type", None),
                                      ("browsers", "browser", "name", 5)):
        counted = [(value or "unknown", int(n)) for value, n in fetch(conn, f"""
            SELECT {column}, count(*) FROM user_sessions
            WHERE user_id = %(uid)s AND started_at >= %(start)s
            GROUP BY {column}""", params)]
        counted.sort(key=lambda vn: (-vn[1], vn[0]))
        out[key] = [{label: v, "count": n} for v, n in counted[:limit]]
    return out


def hourly_bars(conn: Connection, w: Windows, uid: int) -> list[dict[str, int]]:
    """Month-window sessions per UTC hour of start, 24 bars."""
    hours: dict[Any, int] = counts_by_key(conn, """
        SELECT extract(HOUR FROM started_at AT TIME ZONE 'UTC')::int AS h, count(*)
        FROM user_sessions WHERE user_id = %(uid)s AND started_at >= %(start)s
        GROUP BY h""", {"uid": uid, "start": w.start_30d})
    top = max(hours.values(), default=0)
    return [{"hour": h, "count": hours.get(h, 0), "pct": pct(hours.get(h, 0), top)}
            for h in range(24)]


def trend(conn: Connection, w: Windows, uid: int) -> dict[str, list[Any]]:
    """Daily score min(30, sessions*3 + views) over the last 30 UTC days incl. today."""
    days = w.last_days(TREND_DAYS)
    params = {"uid": uid, "start": midnight(days[0])}
    sessions: dict[date, int] = counts_by_key(conn, """
        SELECT (started_at AT TIME ZONE 'UTC')::date AS d, count(*) FROM user_sessions
        WHERE user_id = %(uid)s AND started_at >= %(start)s GROUP BY d""", params)
    views: dict[date, int] = counts_by_key(conn, """
        SELECT (viewed_at AT TIME ZONE 'UTC')::date AS d, count(*) FROM page_views
        WHERE user_id = %(uid)s AND viewed_at >= %(start)s GROUP BY d""", params)
    return {"labels": [d.isoformat() for d in days],
            "scores": [min(30, sessions.get(d, 0) * 3 + views.get(d, 0)) for d in days]}


def history(conn: Connection, uid: int) -> dict[str, list[dict[str, Any]]]:
    """The 10 latest js errors (of the user's sessions), slow pages and searches."""
    params = {"uid": uid, "n": LATEST}
    errors = fetch(conn, """
        SELECT e.message, e.source, e.line, e.occurred_at, e.session_id, page.path
        FROM js_errors e JOIN user_sessions s ON s.session_id = e.session_id
        LEFT JOIN LATERAL (
            SELECT v.path FROM page_views v
            WHERE v.session_id = e.session_id AND v.viewed_at <= e.occurred_at
            ORDER BY v.viewed_at DESC, v.event_id COLLATE "C" DESC LIMIT 1) page ON true
        WHERE s.user_id = %(uid)s
        ORDER BY e.occurred_at DESC, e.event_id COLLATE "C" DESC LIMIT %(n)s""", params)
    slow = fetch(conn, """
        SELECT path, load_time_ms, viewed_at FROM page_views
        WHERE user_id = %(uid)s AND load_time_ms > 3000
        ORDER BY viewed_at DESC, event_id COLLATE "C" DESC LIMIT %(n)s""", params)
    searched = fetch(conn, """
        SELECT query, searched_at FROM search_queries WHERE user_id = %(uid)s
        ORDER BY searched_at DESC, event_id COLLATE "C" DESC LIMIT %(n)s""", params)
    return {
        "js_errors": [{"message": m, "source": s, "line": ln, "occurred_at": iso(t),
                       "session_id": sid, "page": page}
                      for m, s, ln, t, sid, page in errors],
        "slow_pages": [{"path": p, "load_time_ms": ms, "viewed_at": iso(t)}
                       for p, ms, t in slow],
        "search_queries": [{"query": q, "searched_at": iso(t)} for q, t in searched],
    }


def session_habits(conn: Connection, w: Windows, uid: int, created_at: datetime | None
                   ) -> dict[str, Any]:
    """Sessions per week since the account was created (1 decimal) and the truncated
    mean of the known session durations (seconds)."""
    ((total, dur_sum, dur_n),) = fetch(conn, """
        SELECT count(*), sum(duration_seconds), count(duration_seconds)
        FROM user_sessions WHERE user_id = %(uid)s""", {"uid": uid})
    age_days = (w.today - (utc_date(created_at) if created_at else w.today)).days
    return {"avg_sessions_week": round(int(total) / max(1, age_days / 7), 1),
            "avg_session_duration": truncated_mean(dur_sum, int(dur_n))}


def user_profile(conn: Connection, uid: int, now: datetime) -> dict[str, Any] | None:
    """The profile of tracked user ``uid`` as of ``now``; None if there is no such user."""
    w = Windows(now, "week")
    found = fetch(conn, f"""
        SELECT name, email, failed_login_attempts, locked_until, created_at
        FROM users WHERE id = %(uid)s AND {TRACKED}""", {"uid": uid})
    if not found:
        return None
    ((name, email, failed, locked_until, created_at),) = found
    locked = locked_until is not None and locked_until > now
    hist = history(conn, uid)
    return {
        "user": user_object(uid, name, email),
        **scores(conn, w, uid, int(failed), locked),
        "timeline": timeline(conn, uid, email),
        "fav_pages": fav_pages(conn, w, uid),
        **devices_and_browsers(conn, w, uid),
        "hourly_bars": hourly_bars(conn, w, uid),
        "trend_data": trend(conn, w, uid),
        "js_errors": hist["js_errors"], "slow_pages": hist["slow_pages"],
        "password_resets": _one(activity.password_resets(conn, w.start_30d, uid), uid),
        "security_alerts_count": _one(activity.security_alerts(conn, w.start_7d, uid), uid),
        **session_habits(conn, w, uid, created_at),
        "search_queries": hist["search_queries"],
    }
