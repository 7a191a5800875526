"""Per-user counts over a window, one GROUP BY query per table (all users, or one).

Every function takes ``user_id``: None for all users, or one user's id. Keys are
user ids; a user with nothing in the window is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.reference.queries import Connection, counts_by_key, fetch
from harness.reference.scores import EngagementParts

# Restricts a per-user query to one user when %(uid)s is not null.
_ONE = "(%(uid)s::bigint IS NULL OR {col} = %(uid)s::bigint)"


def _params(start: datetime, user_id: int | None) -> dict[str, Any]:
    return {"start": start, "uid": user_id}


@dataclass(frozen=True)
class SessionTotals:
    """A user's sessions in a window, with summed clicks and seconds (null counts 0)."""

    sessions: int = 0
    clicks: int = 0
    seconds: int = 0


def session_totals(conn: Connection, start: datetime, user_id: int | None = None
                   ) -> dict[int, SessionTotals]:
    rows = fetch(conn, f"""
        SELECT user_id, count(*), coalesce(sum(clicks_count), 0),
               coalesce(sum(duration_seconds), 0)
        FROM user_sessions
        WHERE started_at >= %(start)s AND user_id IS NOT NULL AND {_ONE.format(col='user_id')}
        GROUP BY user_id""", _params(start, user_id))
    return {int(u): SessionTotals(int(n), int(c), int(s)) for u, n, c, s in rows}


def views(conn: Connection, start: datetime, user_id: int | None = None,
          slow_only: bool = False) -> dict[int, int]:
    """Page views by the view's own user_id; ``slow_only`` keeps load_time_ms > 3000."""
    slow = "AND load_time_ms > 3000" if slow_only else ""
    return counts_by_key(conn, f"""
        SELECT user_id, count(*) FROM page_views
        WHERE viewed_at >= %(start)s AND user_id IS NOT NULL {slow}
          AND {_ONE.format(col='user_id')}
        GROUP BY user_id""", _params(start, user_id))


def views_between(conn: Connection, start: datetime, end: datetime) -> dict[int, int]:
    """Page views per user in ``[start, end)`` (the week-over-week previous period)."""
    return counts_by_key(conn, """
        SELECT user_id, count(*) FROM page_views
        WHERE viewed_at >= %(start)s AND viewed_at < %(end)s AND user_id IS NOT NULL
        GROUP BY user_id""", {"start": start, "end": end})


def conversions(conn: Connection, start: datetime, user_id: int | None = None
                ) -> dict[int, int]:
    return counts_by_key(conn, f"""
        SELECT user_id, count(*) FROM conversion_events
        WHERE converted_at >= %(start)s AND user_id IS NOT NULL
          AND {_ONE.format(col='user_id')}
        GROUP BY user_id""", _params(start, user_id))


def searches(conn: Connection, start: datetime, user_id: int | None = None
             ) -> dict[int, int]:
    return counts_by_key(conn, f"""
        SELECT user_id, count(*) FROM search_queries
        WHERE searched_at >= %(start)s AND user_id IS NOT NULL
          AND {_ONE.format(col='user_id')}
        GROUP BY user_id""", _params(start, user_id))


def password_resets(conn: Connection, start: datetime, user_id: int | None = None
                    ) -> dict[int, int]:
    return counts_by_key(conn, f"""
        SELECT user_id, count(*) FROM email_logs
        WHERE email_type = 'password_reset' AND created_at >= %(start)s
          AND {_ONE.format(col='user_id')}
        GROUP BY user_id""", _params(start, user_id))


def js_errors(conn: Connection, start: datetime, user_id: int | None = None
              ) -> dict[int, int]:
    """JS errors by the user of their session (the error's own user_id is ignored)."""
    return counts_by_key(conn, f"""
        SELECT s.user_id, count(*) FROM js_errors e
        JOIN user_sessions s ON s.session_id = e.session_id
        WHERE e.occurred_at >= %(start)s AND s.user_id IS NOT NULL
          AND {_ONE.format(col='s.user_id')}
        GROUP BY s.user_id""", _params(start, user_id))


def security_alerts(conn: Connection, start: datetime, user_id: int | None = None
                    ) -> dict[int, int]:
    """Alerts per tracked user, by exact e-mail match with the user's current e-mail."""
    return counts_by_key(conn, f"""
        SELECT u.id, count(*) FROM security_alerts a
        JOIN users u ON u.email = a.user_email
        WHERE a.created_at >= %(start)s AND u.upserted_at IS NOT NULL
          AND {_ONE.format(col='u.id')}
        GROUP BY u.id""", _params(start, user_id))


def engagement_parts(conn: Connection, start_30d: datetime, user_id: int | None = None
                     ) -> dict[int, EngagementParts]:
    """Engagement score components per user over the month window."""
    sess = session_totals(conn, start_30d, user_id)
    pv = views(conn, start_30d, user_id)
    conv = conversions(conn, start_30d, user_id)
    srch = searches(conn, start_30d, user_id)
    result: dict[int, EngagementParts] = {}
    for uid in set(sess) | set(pv) | set(conv) | set(srch):
        s = sess.get(uid, SessionTotals())
        result[uid] = EngagementParts(s.sessions, pv.get(uid, 0), s.clicks, s.seconds,
                                      conv.get(uid, 0), srch.get(uid, 0))
    return result
