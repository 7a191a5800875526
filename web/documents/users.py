"""The problems and engagement tabs (``GET /api/tabs/problems``, ``/engagement``)."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Struct

from scoring.engagement import Status
from web.documents.common import Fresh, Score, ScoreComponent, Time, UserRef, about


class ProblemUser(Struct, kw_only=True):
    """A row of ``problem_users``: an active user with a problem score above 0."""

    user: Annotated[UserRef, about("the user the row is about")]
    score: Annotated[Score, about(
        "min(100, failed_logins*10 + password_resets*15 + js_errors*3 + slow_pages*2"
        " + security_alerts*20 + is_locked*40)")]
    failed_logins: Annotated[int, about(
        "the user's current failed_login_attempts counter (semantics 6), not windowed")]
    password_resets: Annotated[int, about(
        "password resets in the month window, whatever the period (semantics 5)")]
    js_errors: Annotated[int, about("JS errors of the user's sessions in the period")]
    slow_pages: Annotated[int, about(
        "the user's page views with load_time_ms > 3000 in the period")]
    security_alerts: Annotated[int, about("security alerts to the user's e-mail in the period")]
    is_locked: Annotated[bool, about("locked_until is ahead of now")]
    last_login: Annotated[Time | None, about("the user's last log-in, null for never")]
    components: Annotated[list[ScoreComponent], about("the problem score's terms")]


class ProblemsTab(Struct, kw_only=True):
    """``GET /api/tabs/problems``: the cards and the users in trouble, over the period."""

    locked_accounts: Annotated[int, about(
        "active users whose locked_until is still ahead, now (semantics 10)")]
    failed_logins: Annotated[int, about(
        "security alerts of type brute_force or account_locked in the period (semantics 6)")]
    password_resets: Annotated[int, about("password resets in the period")]
    js_errors: Annotated[int, about("JS errors in the period, every session (semantics 8)")]
    problem_users: Annotated[list[ProblemUser], about(
        "the 50 active users with the highest problem score above 0, highest first")]
    freshness: Fresh = UNSET


class EngagementRow(Struct, kw_only=True):
    """A row of ``engagement_list``: a listed user (semantics 13)."""

    user: Annotated[UserRef, about("the user the row is about")]
    score: Annotated[Score, about("the engagement score over the month window (semantics 14)")]
    sessions: Annotated[int, about("sessions started in the period")]
    page_views: Annotated[int, about("page views in the period")]
    wow: Annotated[int | None, about(
        "change of page views against the previous period, in percent (100 when only this"
        " period has views); null when neither has any (semantics 15)")]
    status: Annotated[Status, about("active, at_risk or dormant (semantics 16)")]
    sparkline: Annotated[list[int], about(
        "page views per UTC day, the last 7 days with today, oldest first")]
    components: Annotated[list[ScoreComponent], about(
        "the engagement score's terms, over the month window")]


class StatusCounts(Struct, kw_only=True):
    """The engagement list's users per status (semantics 16)."""

    active: Annotated[int, about("last log-in at most 7 days ago and score at least 20")]
    at_risk: Annotated[int, about("last log-in 8-30 days ago, or score 5-19")]
    dormant: Annotated[int, about("every other user of the list")]


class EngagementTab(Struct, kw_only=True):
    """``GET /api/tabs/engagement``: the cards and the most engaged users."""

    active_7d: Annotated[int, about(
        "distinct users with a session started in the period (the name is the reference's,"
        " the window is the period; a HyperLogLog estimate, semantics 11)")]
    at_risk: Annotated[int, about("active users whose last log-in was 8-30 days ago")]
    dormant: Annotated[int, about(
        "active users who last logged in more than 30 days ago, or never")]
    new_this_month: Annotated[int, about(
        "active users created since the 1st of this calendar month (UTC)")]
    engagement_list: Annotated[list[EngagementRow], about(
        "the 50 listed users with the highest engagement score, highest first (only"
        " those of status ``status_filter`` when it is set)")]
    statuses: Annotated[StatusCounts, about(
        "how many users the whole engagement list holds per status, not only the 50 shown"
        " (as of their last re-scoring: each batch and every midnight)")]
    status_filter: Annotated[Status | None, about(
        "the status the list is filtered by (``?filter=active|at_risk|dormant``); null:"
        " every status")] = None
    freshness: Fresh = UNSET


class UserMatch(Struct, kw_only=True):
    """A tracked user a search found."""

    id: Annotated[int, about("the user's id (users.id): their profile is /api/users/{id}")]
    name: Annotated[str | None, about("the user's name, null when none was sent")]
    email: Annotated[str | None, about("the user's e-mail address, null when none was sent")]
    role: Annotated[str | None, about("the user's role on the site, as sent")]
    company: Annotated[str | None, about("the user's company, as sent")]


class UserSearch(Struct, kw_only=True):
    """``GET /api/users?q=``: the tracked users whose name's words or e-mail address begin
    with each word of the query, or whose id it is; the id's user first, then by name."""

    query: Annotated[str, about("the query, as asked")]
    users: Annotated[list[UserMatch], about("at most `limit` users, best first")]
