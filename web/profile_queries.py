"""The SQL behind a user's profile: indexed per-user reads of the event tables
(``insights/migrations/001_events.sql``).

Every query filters on a user id (or the user's e-mail for alerts, or the user's
sessions for JS errors) first, so each is served by a ``(user, time)`` index.
Windows are ``>= start`` with no upper bound (semantics 2). Hours and days are
taken in UTC whatever the session time zone is. The newest rows of a kind tie-break
on the event id (byte order, newest first), so a list cut at its limit is the same
on every read, whatever partition or plan the rows come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, text

from scoring.pages import SLOW_PAGE_MS as SLOW_MS

_USER = text(
    "SELECT id, name, email, role, company, created_at, last_login, is_active, locked_until,"
    " failed_login_attempts FROM users WHERE id = :uid AND upserted_at IS NOT NULL"
)

# The all-time figures (the windowed counts come from the Redis read model).
_TOTALS = text("""
SELECT count(*) AS total_sessions, coalesce(sum(duration_seconds), 0) AS duration_sum,
       count(duration_seconds) AS duration_count
FROM user_sessions WHERE user_id = :uid""")

# Newest first; ties by event id (byte order), newest first.
_NEWEST: Final = ' DESC, {e}event_id COLLATE "C" DESC LIMIT :n'

_LATEST: Final = {
    "sessions": "SELECT started_at AS time, device_type, browser, session_id FROM user_sessions"
                " WHERE user_id = :uid ORDER BY started_at" + _NEWEST.format(e=""),
    "views": "SELECT viewed_at AS time, path, session_id FROM page_views"
             " WHERE user_id = :uid ORDER BY viewed_at" + _NEWEST.format(e=""),
    "searches": "SELECT searched_at AS time, query, session_id FROM search_queries"
                " WHERE user_id = :uid ORDER BY searched_at" + _NEWEST.format(e=""),
    "conversions": "SELECT converted_at AS time, event_type, session_id FROM conversion_events"
                   " WHERE user_id = :uid ORDER BY converted_at" + _NEWEST.format(e=""),
    "resets": "SELECT created_at AS time FROM email_logs WHERE user_id = :uid"
              " AND email_type = 'password_reset' ORDER BY created_at" + _NEWEST.format(e=""),
    "alerts": "SELECT created_at AS time, alert_type, severity FROM security_alerts"
              " WHERE user_email = :email ORDER BY created_at" + _NEWEST.format(e=""),
    # Each error with its session and page: the session's last view at or before it.
    "js_errors": "SELECT e.time, e.message, e.source, e.line, e.session_id, (SELECT v.path"
                 " FROM page_views v WHERE v.session_id = e.session_id AND v.viewed_at <="
                 ' e.time ORDER BY v.viewed_at DESC, v.event_id COLLATE "C" DESC LIMIT 1)'
                 " AS page FROM (SELECT e.occurred_at AS time, e.message, e.source, e.line,"
                 " e.session_id, e.event_id FROM js_errors e"
                 " JOIN user_sessions s ON s.session_id = e.session_id"
                 " WHERE s.user_id = :uid ORDER BY e.occurred_at" + _NEWEST.format(e="e.")
                 + ") e ORDER BY e.time" + _NEWEST.format(e="e.").replace(" LIMIT :n", ""),
    "slow_pages": "SELECT viewed_at AS time, path, load_time_ms FROM page_views"
                  f" WHERE user_id = :uid AND load_time_ms > {SLOW_MS}"
                  " ORDER BY viewed_at" + _NEWEST.format(e=""),
}

_GROUPED: Final = {
    "fav_pages": "SELECT path AS key, count(*) AS count FROM page_views"
                 " WHERE user_id = :uid AND viewed_at >= :start GROUP BY path"
                 ' ORDER BY count DESC, path COLLATE "C" LIMIT 10',  # ties: byte order
    "devices": "SELECT device_type AS key, count(*) AS count FROM user_sessions"
               " WHERE user_id = :uid AND started_at >= :start GROUP BY device_type",
    "browsers": "SELECT browser AS key, count(*) AS count FROM user_sessions"
                " WHERE user_id = :uid AND started_at >= :start GROUP BY browser",
    "hours": "SELECT EXTRACT(HOUR FROM started_at AT TIME ZONE 'UTC')::int AS key,"
             " count(*) AS count FROM user_sessions"
             " WHERE user_id = :uid AND started_at >= :start GROUP BY 1",
}


def fetch_user(conn: Connection, user_id: int) -> Row[Any] | None:
    """The tracked user's row; None for an unknown id or a stub no upsert has created."""
    return conn.execute(_USER, {"uid": user_id}).one_or_none()


def fetch_totals(conn: Connection, user_id: int) -> Row[Any]:
    """All-time sessions and their known durations (sum in seconds, how many)."""
    return conn.execute(_TOTALS, {"uid": user_id}).one()


def fetch_latest(conn: Connection, kind: str, user_id: int, email: str | None, n: int
                 ) -> Sequence[Row[Any]]:
    """The ``n`` newest rows of ``kind`` (a key of ``_LATEST``), newest first, all time."""
    return conn.execute(text(_LATEST[kind]),
                        {"uid": user_id, "email": email, "n": n}).all()


def fetch_grouped(conn: Connection, kind: str, user_id: int, start: datetime
                  ) -> list[tuple[Any, int]]:
    """``(key, count)`` pairs of ``kind`` (a key of ``_GROUPED``) since ``start``."""
    rows = conn.execute(text(_GROUPED[kind]), {"uid": user_id, "start": start}).all()
    return [(row[0], int(row[1])) for row in rows]

