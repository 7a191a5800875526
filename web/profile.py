"""A tracked user's behavioural profile (``GET /api/users/{id}``).

The reference's ``user_insights_profile`` with semantics 5 and 27-29: engagement
over the month window; problem score with js errors, slow pages and alerts over
the week window, password resets over the month window, the current failed-login
counter and ``locked_until > now``. Everything is as of ``now`` (UTC).

The windowed counts and the 30-day trend are the Redis read model's day
counters (what the rankings are computed from); the user's row, the all-time
figures, the timeline and the lists come from PostgreSQL, in one snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy.engine import Engine

from insights.readmodel.userstate import ENGAGEMENT_METRICS, OPEN_END, Asked
from insights.record.kept import HISTORY
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
from scoring.windows import day_number, last_days, midnight, month_start, period_start
from web.documents.common import components_of
from web.documents.profile import (
    BrowserCount,
    DeviceCount,
    FavPage,
    HourBar,
    JsErrorItem,
    Profile,
    ProfileUser,
    SearchItem,
    SlowPageItem,
    TrendData,
)
from web.formats import day, rfc3339, rfc3339_or_none
from web.profile_queries import fetch_grouped, fetch_latest, fetch_totals, fetch_user
from web.tabs.store import Store
from web.timeline import LIMITS, build_timeline

TREND_DAYS = 30  # the trend chart: the last 30 days, today included
HISTORY_LIMIT = HISTORY  # js_errors, slow_pages, search_queries: the 10 latest (kept)
BROWSERS_TOP = 5


@dataclass(frozen=True)
class WindowCounts:
    """A user's counts over the profile's windows, from the Redis day counters."""

    engagement: EngagementCounts          # month window
    password_resets: int                  # month window
    js_errors: int                        # week window
    slow_pages: int                       # week window
    security_alerts: int                  # week window, by the user's e-mail
    trend: list[tuple[int, int]]          # (sessions, page views) per day, oldest first


def window_counts(store: Store, user_id: int, email: str | None, today: date) -> WindowCounts:
    """One read of the user's counters (and the e-mail's alerts) for every window."""
    month = day_number(month_start(today))
    week = day_number(period_start("week", today))
    days = [day_number(d) for d in last_days(today, TREND_DAYS)]
    asked = Asked([*((field, [(metric, month, OPEN_END)])
                     for field, metric in ENGAGEMENT_METRICS.items()),
                   ("password_resets", [("pr", month, OPEN_END)]),
                   ("js_errors", [("je", week, OPEN_END)]),
                   ("slow_pages", [("sp", week, OPEN_END)]),
                   ("trend_sessions", [("s", d, d) for d in days]),
                   ("trend_views", [("pv", d, d) for d in days])])
    r = store.round()                  # the user's and the e-mail's sums: one round trip
    user_sums = store.user_sums_in(r, [user_id], asked.queries)
    email_sums = store.email_sums_in(r, [email] if email else [], [("a", week, OPEN_END)])
    r.run()
    found = asked.answer(user_sums()[user_id])
    alerts = email_sums()[email][0] if email else 0
    return WindowCounts(EngagementCounts(**{f: found[f][0] for f in ENGAGEMENT_METRICS}),
                        found["password_resets"][0], found["js_errors"][0],
                        found["slow_pages"][0], alerts,
                        list(zip(found["trend_sessions"], found["trend_views"], strict=True)))


def build_profile(engine: Engine, store: Store, user_id: int, now: datetime
                  ) -> Profile | None:
    """The profile document of ``docs/api.md``; None when ``user_id`` is not a tracked user."""
    # One snapshot for every query: the parts of a profile agree while events stream in.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                            postgresql_readonly=True) as conn:
        user = fetch_user(conn, user_id)
        if user is None:
            return None
        return _assemble(conn, user, window_counts(store, user.id, user.email, now.date()),
                         now)


@dataclass(frozen=True)
class Activity:
    """The month window's favourite pages, devices, browsers and hours."""

    fav_pages: list[FavPage]
    devices: list[DeviceCount]
    browsers: list[BrowserCount]
    hourly_bars: list[HourBar]


@dataclass(frozen=True)
class History:
    """The latest js errors, slow pages and searches, all time."""

    js_errors: list[JsErrorItem]
    slow_pages: list[SlowPageItem]
    search_queries: list[SearchItem]


def _assemble(conn: Connection, user: Row[Any], counts: WindowCounts, now: datetime
              ) -> Profile:
    today = now.date()
    totals = fetch_totals(conn, user.id)
    engagement = counts.engagement
    is_locked = user.locked_until is not None and user.locked_until > now
    problems = ProblemCounts(user.failed_login_attempts, counts.password_resets,
                             counts.js_errors, counts.slow_pages, counts.security_alerts,
                             is_locked)
    latest = {kind: fetch_latest(conn, kind, user.id, user.email, n)
              for kind, n in LIMITS.items()}
    created = user.created_at.date() if user.created_at is not None else None
    activity = _activity(conn, user.id, midnight(month_start(today)))
    history = _history(conn, user.id, latest)
    return Profile(
        user=_user(user),
        engagement_score=engagement_score(engagement),
        engagement_components=components_of(engagement_components(engagement)),
        problem_score=problem_score(problems),
        problem_components=components_of(problem_components(problems)),
        timeline=build_timeline(latest),
        fav_pages=activity.fav_pages, devices=activity.devices, browsers=activity.browsers,
        hourly_bars=activity.hourly_bars,
        trend_data=_trend(counts.trend, today),
        js_errors=history.js_errors, slow_pages=history.slow_pages,
        search_queries=history.search_queries,
        password_resets=counts.password_resets,
        security_alerts_count=counts.security_alerts,
        avg_sessions_week=avg_sessions_week(totals.total_sessions, created, today),
        avg_session_duration=truncated_mean(int(totals.duration_sum), totals.duration_count),
    )


def _user(user: Row[Any]) -> ProfileUser:
    return ProfileUser(
        id=user.id, name=user.name, email=user.email, role=user.role,
        company=user.company, created_at=rfc3339_or_none(user.created_at),
        last_login=rfc3339_or_none(user.last_login), is_active=user.is_active,
        locked_until=rfc3339_or_none(user.locked_until),
        failed_login_attempts=user.failed_login_attempts,
    )


def _activity(conn: Connection, user_id: int, month: datetime) -> Activity:
    """Favourite pages, devices, browsers (top 5) and hours of the month window."""
    fav = fetch_grouped(conn, "fav_pages", user_id, month)
    top = fav[0][1] if fav else 1
    hours = dict(fetch_grouped(conn, "hours", user_id, month))
    busiest = max(hours.values(), default=1)
    return Activity(
        fav_pages=[FavPage(path=path, count=n, bar_pct=bar_pct(n, top)) for path, n in fav],
        devices=[DeviceCount(type=device, count=n)
                 for device, n in _ranked(fetch_grouped(conn, "devices", user_id, month))],
        browsers=[BrowserCount(name=browser, count=n) for browser, n in
                  _ranked(fetch_grouped(conn, "browsers", user_id, month))[:BROWSERS_TOP]],
        hourly_bars=[HourBar(hour=hour, count=hours.get(hour, 0),
                             pct=bar_pct(hours.get(hour, 0), busiest)) for hour in range(24)],
    )


def _ranked(counts: list[tuple[str | None, int]]) -> list[tuple[str, int]]:
    """Null named ``unknown``, then most first, ties by name (so ``unknown`` ranks as text)."""
    named = [(name or "unknown", n) for name, n in counts]
    return sorted(named, key=lambda pair: (-pair[1], pair[0]))


def _trend(per_day: list[tuple[int, int]], today: date) -> TrendData:
    """Daily trend points (``sessions*3 + views``, max 30) of the last 30 days, oldest first."""
    return TrendData(
        labels=[day(d) for d in last_days(today, TREND_DAYS)],
        scores=[daily_trend_score(sessions, views) for sessions, views in per_day],
    )


def _history(conn: Connection, user_id: int, latest: dict[str, Any]) -> History:
    """The latest js errors, slow pages and searches, all time."""
    errors = fetch_latest(conn, "js_errors", user_id, None, HISTORY_LIMIT)
    slow = fetch_latest(conn, "slow_pages", user_id, None, HISTORY_LIMIT)
    return History(
        js_errors=[JsErrorItem(message=r.message, source=r.source, line=r.line,
                               occurred_at=rfc3339(r.time), session_id=r.session_id,
                               page=r.page) for r in errors],
        slow_pages=[SlowPageItem(path=r.path, load_time_ms=r.load_time_ms,
                                 viewed_at=rfc3339(r.time)) for r in slow],
        search_queries=[SearchItem(query=r.query, searched_at=rfc3339(r.time))
                        for r in latest["searches"][:HISTORY_LIMIT]],
    )
