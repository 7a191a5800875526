"""A tracked user's behavioural profile (``GET /api/users/{id}``), read from PostgreSQL.

The reference's ``user_insights_profile`` with semantics 5 and 27-29: engagement
over the month window; problem score with js errors, slow pages and alerts over
the week window, password resets over the month window, the current failed-login
counter and ``locked_until > now``. Everything is as of ``now`` (UTC).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.engine import Engine

from scoring.components import Component
from scoring.engagement import (
    EngagementCounts,
    avg_sessions_week,
    daily_trend_score,
    engagement_components,
    engagement_score,
)
from scoring.pages import truncated_mean
from scoring.problems import ProblemCounts, problem_components, problem_score
from scoring.ratios import bar_pct
from scoring.windows import last_days, midnight, month_start, period_start
from web.formats import day, rfc3339, rfc3339_or_none
from web.profile_queries import fetch_counts, fetch_daily, fetch_grouped, fetch_latest, fetch_user
from web.timeline import LIMITS, build_timeline

TREND_DAYS = 30  # the trend chart: the last 30 days, today included
HISTORY_LIMIT = 10  # js_errors, slow_pages, search_queries: the 10 latest
BROWSERS_TOP = 5


def build_profile(engine: Engine, user_id: int, now: datetime) -> dict[str, Any] | None:
    """The profile document of ``api.md``; None when ``user_id`` is not a tracked user."""
    # One snapshot for every query: the parts of a profile agree while events stream in.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                            postgresql_readonly=True) as conn:
        user = fetch_user(conn, user_id)
        if user is None:
            return None
        return _assemble(conn, user, now)


def _assemble(conn: Connection, user: Row[Any], now: datetime) -> dict[str, Any]:
    today = now.date()
    month, week = midnight(month_start(today)), midnight(period_start("week", today))
    counts = fetch_counts(conn, user.id, user.email, month=month, week=week)
    engagement = EngagementCounts(counts.sessions, counts.page_views, int(counts.clicks),
                                  int(counts.seconds), counts.conversions, counts.searches)
    is_locked = user.locked_until is not None and user.locked_until > now
    problems = ProblemCounts(user.failed_login_attempts, counts.password_resets,
                             counts.js_errors, counts.slow_pages, counts.security_alerts,
                             is_locked)
    latest = {kind: fetch_latest(conn, kind, user.id, user.email, n)
              for kind, n in LIMITS.items()}
    created = user.created_at.date() if user.created_at is not None else None
    return {
        "user": _user(user),
        "engagement_score": engagement_score(engagement),
        "engagement_components": _components(engagement_components(engagement)),
        "problem_score": problem_score(problems),
        "problem_components": _components(problem_components(problems)),
        "timeline": build_timeline(latest),
        **_activity(conn, user.id, month),
        "trend_data": _trend(conn, user.id, today),
        **_history(conn, user.id, latest),
        "password_resets": counts.password_resets,
        "security_alerts_count": counts.security_alerts,
        "avg_sessions_week": avg_sessions_week(counts.total_sessions, created, today),
        "avg_session_duration": truncated_mean(int(counts.duration_sum),
                                               counts.duration_count),
    }


def _user(user: Row[Any]) -> dict[str, Any]:
    return {
        "id": user.id, "name": user.name, "email": user.email, "role": user.role,
        "company": user.company, "created_at": rfc3339_or_none(user.created_at),
        "last_login": rfc3339_or_none(user.last_login), "is_active": user.is_active,
        "locked_until": rfc3339_or_none(user.locked_until),
        "failed_login_attempts": user.failed_login_attempts,
    }


def _components(components: list[Component]) -> list[dict[str, Any]]:
    return [asdict(component) for component in components]


def _activity(conn: Connection, user_id: int, month: datetime) -> dict[str, Any]:
    """Favourite pages, devices, browsers (top 5) and hours of the month window."""
    fav = fetch_grouped(conn, "fav_pages", user_id, month)
    top = fav[0][1] if fav else 1
    hours = dict(fetch_grouped(conn, "hours", user_id, month))
    busiest = max(hours.values(), default=1)
    return {
        "fav_pages": [{"path": path, "count": n, "bar_pct": bar_pct(n, top)} for path, n in fav],
        "devices": [{"type": device, "count": n}
                    for device, n in _ranked(fetch_grouped(conn, "devices", user_id, month))],
        "browsers": [{"name": browser, "count": n} for browser, n in
                     _ranked(fetch_grouped(conn, "browsers", user_id, month))[:BROWSERS_TOP]],
        "hourly_bars": [{"hour": hour, "count": hours.get(hour, 0),
                         "pct": bar_pct(hours.get(hour, 0), busiest)} for hour in range(24)],
    }


def _ranked(counts: list[tuple[str | None, int]]) -> list[tuple[str, int]]:
    """Null named ``unknown``, then most first, ties by name (so ``unknown`` ranks as text)."""
    named = [(name or "unknown", n) for name, n in counts]
    return sorted(named, key=lambda pair: (-pair[1], pair[0]))


def _trend(conn: Connection, user_id: int, today: date) -> dict[str, list[Any]]:
    """Daily trend points (``sessions*3 + views``, max 30) of the last 30 days, oldest first."""
    days = last_days(today, TREND_DAYS)
    sessions = fetch_daily(conn, "session_days", user_id, midnight(days[0]))
    views = fetch_daily(conn, "view_days", user_id, midnight(days[0]))
    return {
        "labels": [day(d) for d in days],
        "scores": [daily_trend_score(sessions.get(d, 0), views.get(d, 0)) for d in days],
    }


def _history(conn: Connection, user_id: int, latest: dict[str, Any]) -> dict[str, Any]:
    """The latest js errors, slow pages and searches, all time."""
    errors = fetch_latest(conn, "js_errors", user_id, None, HISTORY_LIMIT)
    slow = fetch_latest(conn, "slow_pages", user_id, None, HISTORY_LIMIT)
    return {
        "js_errors": [{"message": r.message, "source": r.source, "line": r.line,
                       "occurred_at": rfc3339(r.time)} for r in errors],
        "slow_pages": [{"path": r.path, "load_time_ms": r.load_time_ms,
                        "viewed_at": rfc3339(r.time)} for r in slow],
        "search_queries": [{"query": r.query, "searched_at": rfc3339(r.time)}
                           for r in latest["searches"][:HISTORY_LIMIT]],
    }
