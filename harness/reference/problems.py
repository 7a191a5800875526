"""The problems tab: stat cards and the users most in trouble."""

from __future__ import annotations

from typing import Any

from harness.reference import activity
from harness.reference.queries import ACTIVE, Connection, fetch, scalar, user_object
from harness.reference.scores import problem_score
from harness.reference.windows import Windows, iso

LIST_SIZE = 50


def cards(conn: Connection, w: Windows) -> dict[str, int]:
    """Locked active users now; alerts, resets and errors of the period (all of them)."""
    params = {"now": w.now, "start": w.start}
    return {
        "locked_accounts": int(scalar(conn, f"""
            SELECT count(*) FROM users WHERE {ACTIVE} AND locked_until > %(now)s""", params)),
        "failed_logins": int(scalar(conn, """
            SELECT count(*) FROM security_alerts
            WHERE alert_type IN ('brute_force', 'account_locked')
              AND created_at >= %(start)s""", params)),
        "password_resets": int(scalar(conn, """
            SELECT count(*) FROM email_logs
            WHERE email_type = 'password_reset' AND created_at >= %(start)s""", params)),
        "js_errors": int(scalar(conn, """
            SELECT count(*) FROM js_errors WHERE occurred_at >= %(start)s""", params)),
    }


def problem_users(conn: Connection, w: Windows) -> list[dict[str, Any]]:
    """Active users with a problem score above 0, highest first (ties by id), top 50."""
    resets = activity.password_resets(conn, w.start_30d)
    errors = activity.js_errors(conn, w.start)
    slow = activity.views(conn, w.start, slow_only=True)
    alerts = activity.security_alerts(conn, w.start)
    listed: list[dict[str, Any]] = []
    for uid, name, email, failed, locked_until, last_login in fetch(conn, f"""
            SELECT id, name, email, failed_login_attempts, locked_until, last_login
            FROM users WHERE {ACTIVE} ORDER BY id"""):
        locked = locked_until is not None and locked_until > w.now
        counts = {"failed_logins": int(failed), "password_resets": resets.get(uid, 0),
                  "js_errors": errors.get(uid, 0), "slow_pages": slow.get(uid, 0),
                  "security_alerts": alerts.get(uid, 0)}
        score = problem_score(**counts, is_locked=locked)
        if score > 0:
            listed.append({"user": user_object(uid, name, email), "score": score, **counts,
                           "is_locked": locked, "last_login": iso(last_login)})
    listed.sort(key=lambda row: (-row["score"], row["user"]["id"]))
    return listed[:LIST_SIZE]


def problems_tab(conn: Connection, w: Windows) -> dict[str, Any]:
    """The whole problems tab for the period of ``w``."""
    return {**cards(conn, w), "problem_users": problem_users(conn, w)}
