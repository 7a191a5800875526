"""A tracked user's profile (``GET /api/users/{id}``), as of now (semantics 27-29)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Struct

from web.documents.common import Day, Fresh, Score, ScoreComponent, Time, about
from web.documents.site import Pct

TimelineType = Literal["login", "pageview", "search", "conversion", "problem"]
TimelineIcon = Literal["key", "eye", "search", "check", "alert", "shield"]


class ProfileUser(Struct, kw_only=True):
    """The user's row as PostgreSQL holds it now."""

    id: Annotated[int, about("the user's id")]
    name: Annotated[str | None, about("the user's name, null when none was sent")]
    email: Annotated[str | None, about("the user's e-mail address, null when none was sent")]
    role: Annotated[str | None, about(
        "the user's role on the tracked site, null when none was sent")]
    company: Annotated[str | None, about("the user's company, null when none was sent")]
    created_at: Annotated[Time | None, about(
        "when the user was created, null when not sent")]
    last_login: Annotated[Time | None, about("the last log-in, null for never")]
    is_active: Annotated[bool, about("the account is active")]
    locked_until: Annotated[Time | None, about("the lock's end, null when never locked")]
    failed_login_attempts: Annotated[int, about("the current failed-log-in counter")]


class TimelineItem(Struct, kw_only=True):
    """One event of the user's timeline (semantics 27)."""

    type: Annotated[TimelineType, about("what happened")]
    icon: Annotated[TimelineIcon, about("the icon the page shows")]
    time: Annotated[Time, about("when it happened")]
    desc: Annotated[str, about("what happened, in English")]
    session_id: Annotated[str | None, about(
        "the session it belongs to (sessions, views, searches and conversions that name"
        " one); null otherwise")] = None


class FavPage(Struct, kw_only=True):
    """One of the user's most viewed paths in the month window."""

    path: Annotated[str, about("the page's path")]
    count: Annotated[int, about("the user's views of it in the month window")]
    bar_pct: Annotated[Pct, about("count against the first row, in percent")]


class DeviceCount(Struct, kw_only=True):
    """The user's sessions of one device type in the month window."""

    type: Annotated[str, about("the device type, unknown for none")]
    count: Annotated[int, about("sessions in the month window")]


class BrowserCount(Struct, kw_only=True):
    """The user's sessions of one browser in the month window."""

    name: Annotated[str, about("the browser, unknown for none")]
    count: Annotated[int, about("sessions in the month window")]


class HourBar(Struct, kw_only=True):
    """The user's sessions started in one UTC hour, month window."""

    hour: Annotated[int, about("the UTC hour, 0-23")]
    count: Annotated[int, about("sessions started in that hour in the month window")]
    pct: Annotated[Pct, about("count against the busiest hour, in percent")]


class TrendData(Struct, kw_only=True):
    """The daily trend points of the last 30 days with today."""

    labels: Annotated[list[Day], about("the 30 days, oldest first")]
    scores: Annotated[list[int], about("min(30, sessions*3 + page_views) of each day")]


class JsErrorItem(Struct, kw_only=True):
    """One of the 10 latest JS errors of the user's sessions."""

    message: Annotated[str, about("the error's message")]
    source: Annotated[str | None, about("the script it came from, null when not sent")]
    line: Annotated[int | None, about("the line in that script, null when not sent")]
    occurred_at: Annotated[Time, about("when it happened")]
    session_id: Annotated[str, about("the session it happened in")]
    page: Annotated[str | None, about(
        "the path of the session's last page view at or before the error; null when none")]


class SlowPageItem(Struct, kw_only=True):
    """One of the 10 latest views of the user that loaded in more than 3000 ms."""

    path: Annotated[str, about("the page's path")]
    load_time_ms: Annotated[int, about("its load time in milliseconds")]
    viewed_at: Annotated[Time, about("when it was viewed")]


class SearchItem(Struct, kw_only=True):
    """One of the 10 latest searches of the user."""

    query: Annotated[str, about("what was searched for")]
    searched_at: Annotated[Time, about("when")]


class Profile(Struct, kw_only=True):
    """``GET /api/users/{id}``: the reference's drill-down of one tracked user, as of now."""

    user: Annotated[ProfileUser, about("the user's row, as of now")]
    engagement_score: Annotated[Score, about("over the month window (semantics 14)")]
    engagement_components: Annotated[list[ScoreComponent], about(
        "the engagement score's terms, month window")]
    problem_score: Annotated[Score, about(
        "js errors, slow pages and alerts over the week window, password resets over the"
        " month window, the current failed-log-in counter and lock (semantics 5)")]
    problem_components: Annotated[list[ScoreComponent], about("the problem score's terms")]
    timeline: Annotated[list[TimelineItem], about("up to 100 items, newest first")]
    fav_pages: Annotated[list[FavPage], about("the top 10 paths of the month window")]
    devices: Annotated[list[DeviceCount], about(
        "sessions per device type in the month window, most first")]
    browsers: Annotated[list[BrowserCount], about("the top 5 browsers in the month window")]
    hourly_bars: Annotated[list[HourBar], about("24 items, hour 0 first")]
    trend_data: Annotated[TrendData, about(
        "the daily trend points of the last 30 days with today")]
    js_errors: Annotated[list[JsErrorItem], about("the 10 latest errors, newest first")]
    slow_pages: Annotated[list[SlowPageItem], about("the 10 latest slow views, newest first")]
    search_queries: Annotated[list[SearchItem], about("the 10 latest searches, newest first")]
    password_resets: Annotated[int, about("password resets in the month window")]
    security_alerts_count: Annotated[int, about(
        "security alerts to the user's e-mail in the week window")]
    avg_sessions_week: Annotated[float, about(
        "sessions per week since the user was created, all time (semantics 28)")]
    avg_session_duration: Annotated[int, about(
        "seconds, truncated mean of the known session durations, all time")]
    freshness: Fresh = UNSET
