"""The reference dashboard's way of building each tab, timed on the benchmark's data.

Problems and engagement run as the reference's ``_tab_problems`` and
``_tab_engagement`` do: the stat cards, then a loop over the active users with
that user's COUNT queries one at a time (the per-user N+1 SQL: 4 queries per
user for problems, 17 for engagement). They are plain psycopg2 over the
write-through tables (``insights/migrations/001_events.sql``), without the reference's ORM, so
their times are a lower bound of the reference's own. Users without a
``user_upsert`` (``upserted_at IS NULL``) are not tracked users; JS errors join
their session on ``session_id``; password resets are ``email_logs`` rows of type
``password_reset``. Pages, paths and overview are aggregate SQL in the
reference; the SQL oracle ``harness.reference.tab`` computes them the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from harness import reference
from harness.reference.queries import Connection
from harness.reference.windows import Windows, midnight, utc_date

SLOW_MS = 3000
LISTED = 50

_USERS = """SELECT id, name, email, role, failed_login_attempts, locked_until, last_login,
    created_at FROM users WHERE upserted_at IS NOT NULL AND is_active {extra}"""
_ALERTS = "SELECT count(*) FROM security_alerts WHERE user_email = %s AND created_at >= %s"
_RESETS = """SELECT count(*) FROM email_logs
    WHERE user_id = %s AND email_type = 'password_reset' AND created_at >= %s"""
_ERRORS = """SELECT count(*) FROM js_errors j JOIN user_sessions s ON j.session_id = s.session_id
    WHERE s.user_id = %s AND j.occurred_at >= %s"""
_SLOW = f"""SELECT count(*) FROM page_views
    WHERE user_id = %s AND viewed_at >= %s AND load_time_ms > {SLOW_MS}"""
_SESSIONS = "SELECT count(*) FROM user_sessions WHERE user_id = %s AND started_at >= %s"
_SESSIONS_BETWEEN = """SELECT count(*) FROM user_sessions
    WHERE user_id = %s AND started_at >= %s AND started_at < %s"""
_VIEWS = "SELECT count(*) FROM page_views WHERE user_id = %s AND viewed_at >= %s"
_VIEWS_BETWEEN = """SELECT count(*) FROM page_views
    WHERE user_id = %s AND viewed_at >= %s AND viewed_at < %s"""
_CLICKS = "SELECT sum(clicks_count) FROM user_sessions WHERE user_id = %s AND started_at >= %s"
_SECONDS = """SELECT sum(duration_seconds) FROM user_sessions
    WHERE user_id = %s AND started_at >= %s"""
_CONVERSIONS = """SELECT count(*) FROM conversion_events
    WHERE user_id = %s AND converted_at >= %s"""
_SEARCHES = "SELECT count(*) FROM search_queries WHERE user_id = %s AND searched_at >= %s"


class Timing(NamedTuple):
    """One tab computed the reference's way: the cards' and the per-user loop's seconds."""

    cards_s: float
    loop_s: float
    users: int              # users the loop visited
    document: dict[str, Any]


def _one(conn: Connection, sql: str, *params: Any) -> int:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        value = cur.fetchone()[0]
    return int(value or 0)


def _users(conn: Connection, max_id: int | None, extra: str = "") -> list[tuple[Any, ...]]:
    where = extra + (" AND id <= %s" if max_id is not None else "")
    with conn.cursor() as cur:
        cur.execute(_USERS.format(extra=where), (max_id,) if max_id is not None else None)
        return list(cur.fetchall())


def problems(conn: Connection, w: Windows, max_id: int | None = None) -> Timing:
    """``_tab_problems``: four cards, then 4 COUNT queries per active user (ids <= ``max_id``)."""
    started = time.perf_counter()
    cards = {
        "locked_accounts": _one(conn, """SELECT count(*) FROM users WHERE upserted_at IS NOT
            NULL AND is_active AND locked_until > %s""", w.now),
        "failed_logins": _one(conn, """SELECT count(*) FROM security_alerts
            WHERE alert_type IN ('brute_force', 'account_locked') AND created_at >= %s""",
                              w.start),
        "password_resets": _one(conn, """SELECT count(*) FROM email_logs
            WHERE email_type = 'password_reset' AND created_at >= %s""", w.start),
        "js_errors": _one(conn, "SELECT count(*) FROM js_errors WHERE occurred_at >= %s",
                          w.start),
    }
    looped = time.perf_counter()
    users = _users(conn, max_id)
    listed = []
    for uid, name, email, _role, failed, locked_until, last_login, _created in users:
        alerts = _one(conn, _ALERTS, email, w.start)
        resets = _one(conn, _RESETS, uid, w.start_30d)
        errors = _one(conn, _ERRORS, uid, w.start)
        slow = _one(conn, _SLOW, uid, w.start)
        locked = 1 if locked_until and locked_until > w.now else 0
        score = min(100, (failed or 0) * 10 + resets * 15 + errors * 3 + slow * 2 + alerts * 20
                    + locked * 40)
        if score > 0:
            listed.append({"user": {"id": uid, "name": name, "email": email}, "score": score,
                           "failed_logins": failed, "password_resets": resets,
                           "js_errors": errors, "slow_pages": slow, "security_alerts": alerts,
                           "is_locked": locked, "last_login": last_login})
    listed.sort(key=lambda row: row["score"], reverse=True)
    done = time.perf_counter()
    return Timing(looped - started, done - looped, len(users),
                  {**cards, "problem_users": listed[:LISTED]})


def engagement(conn: Connection, w: Windows, max_id: int | None = None) -> Timing:
    """``_tab_engagement``: the cards (a Python pass over active users), then 17 queries
    per listed user (ids <= ``max_id``): period, previous period, 30 days, sparkline."""
    started = time.perf_counter()
    cards = _engagement_cards(conn, w)
    looped = time.perf_counter()
    users = _users(conn, max_id, "AND role != 'UNAFFILIATED'")
    listed = []
    for uid, name, email, _role, _failed, _locked, last_login, _created in users:
        row = _engagement_row(conn, w, uid, last_login)
        if row["sessions"] > 0 or row["score"] > 0:
            listed.append({"user": {"id": uid, "name": name, "email": email}, **row})
    listed.sort(key=lambda row: row["score"], reverse=True)
    done = time.perf_counter()
    return Timing(looped - started, done - looped, len(users),
                  {**cards, "engagement_list": listed[:LISTED]})


def _engagement_cards(conn: Connection, w: Windows) -> dict[str, int]:
    active = _one(conn, """SELECT count(DISTINCT user_id) FROM user_sessions
        WHERE user_id IS NOT NULL AND started_at >= %s""", w.start)
    at_risk = dormant = new = 0
    first_of_month = w.today.replace(day=1)
    for *_, last_login, created_at in _users(conn, None):
        if created_at and utc_date(created_at) >= first_of_month:
            new += 1
        if last_login:
            since = (w.today - utc_date(last_login)).days
            at_risk += 8 <= since <= 30
            dormant += since > 30
        else:
            dormant += 1
    return {"active_7d": active, "at_risk": at_risk, "dormant": dormant,
            "new_this_month": new}


def _engagement_row(conn: Connection, w: Windows, uid: int, last_login: datetime | None
                    ) -> dict[str, Any]:
    sessions = _one(conn, _SESSIONS, uid, w.start)
    views = _one(conn, _VIEWS, uid, w.start)
    _one(conn, _SESSIONS_BETWEEN, uid, w.prev_start, w.start)   # queried, never used
    before = _one(conn, _VIEWS_BETWEEN, uid, w.prev_start, w.start)
    s30, pv30 = _one(conn, _SESSIONS, uid, w.start_30d), _one(conn, _VIEWS, uid, w.start_30d)
    clicks, seconds = _one(conn, _CLICKS, uid, w.start_30d), _one(conn, _SECONDS, uid,
                                                                   w.start_30d)
    conversions = _one(conn, _CONVERSIONS, uid, w.start_30d)
    searches = _one(conn, _SEARCHES, uid, w.start_30d)
    score = int(min(100, s30 * 3 + pv30 + clicks * 0.5 + seconds / 60 * 2 + conversions * 10
                    + searches * 2))
    wow = None
    if before > 0:
        wow = round((views - before) / before * 100)
    elif views > 0:
        wow = 100
    since = (w.today - utc_date(last_login)).days if last_login else None
    if since is not None and since <= 7 and score >= 20:
        status = "active"
    elif (since is not None and 8 <= since <= 30) or 5 <= score < 20:
        status = "at_risk"
    else:
        status = "dormant"
    sparkline = [_one(conn, _VIEWS_BETWEEN, uid, midnight(day), midnight(day + timedelta(1)))
                 for day in w.last_days(7)]
    return {"score": score, "sessions": sessions, "page_views": views, "wow": wow,
            "status": status, "sparkline": sparkline}


PER_USER: dict[str, Callable[[Connection, Windows, int | None], Timing]] = {
    "problems": problems, "engagement": engagement}


def loop_size(conn: Connection, tab: str) -> int:
    """How many users the tab's per-user loop visits at full size."""
    extra = "AND role != 'UNAFFILIATED'" if tab == "engagement" else ""
    return _one(conn, f"SELECT count(*) FROM users WHERE upserted_at IS NOT NULL AND is_active "
                      f"{extra}")


def per_user(conn: Connection, tab: str, period: str, now: datetime, *, slice_max_id: int,
             full: bool, limit_s: float) -> dict[str, Any]:
    """Time a per-user tab: on the users with id <= ``slice_max_id`` first, then at full
    size when ``full`` and the linear estimate is within ``limit_s`` seconds; otherwise
    the full-size time is that estimate (cards once, the loop scaled by its user count)."""
    w, run = Windows(now, period), PER_USER[tab]
    users = loop_size(conn, tab)
    part = run(conn, w, slice_max_id)
    estimate = part.cards_s + part.loop_s * users / max(1, part.users)
    result: dict[str, Any] = {
        "tab": tab, "period": period, "loop_users": users,
        "queries_per_user": 4 if tab == "problems" else 17,
        "slice": {"max_id": slice_max_id, "users": part.users,
                  "cards_s": round(part.cards_s, 3), "loop_s": round(part.loop_s, 3)},
        "estimate_s": round(estimate, 2)}
    if part.users >= users:
        return {**result, "seconds": part.cards_s + part.loop_s, "how": "measured"}
    if full and estimate <= limit_s:
        whole = run(conn, w, None)
        return {**result, "seconds": whole.cards_s + whole.loop_s, "how": "measured",
                "full": {"cards_s": round(whole.cards_s, 3), "loop_s": round(whole.loop_s, 3)}}
    return {**result, "seconds": estimate,
            "how": f"extrapolated from {part.users} of {users} users"}


def aggregate(conn: Connection, tab: str, period: str, filter_: str, now: datetime) -> float:
    """Seconds for one tab by aggregate SQL (the oracle ``harness.reference.tab``)."""
    started = time.perf_counter()
    reference.tab(conn, tab, period, filter_, now)
    return time.perf_counter() - started
