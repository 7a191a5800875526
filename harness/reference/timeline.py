"""A user's timeline: the reference's merge of recent activity, all-time, newest first.

Each source is cut to its latest N rows (ties by event id, byte order, newest id
first); the merge is a stable sort on time, so equal times keep the source order
sessions, page views, searches, conversions, resets, alerts (as the reference).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.reference.queries import Connection, fetch
from harness.reference.windows import iso

TIMELINE_MAX = 100
KEY_PATHS = ["/", "/forum", "/chat", "/search", "/admin", "/events", "/membership"]

Item = tuple[datetime, dict[str, Any]]


def is_key_page(path: str) -> bool:
    """A key page is a key path or below it, or any path containing ``/company/``."""
    return "/company/" in path or any(
        path == p or path.startswith(p + "/") for p in KEY_PATHS)


def _item(kind: str, icon: str, desc: str, session: str | None = None) -> dict[str, Any]:
    return {"type": kind, "icon": icon, "desc": desc, "session_id": session}


def sessions(conn: Connection, uid: int) -> list[Item]:
    rows = fetch(conn, """
        SELECT started_at, device_type, browser, session_id FROM user_sessions
        WHERE user_id = %(uid)s
        ORDER BY started_at DESC, event_id COLLATE "C" DESC LIMIT 20""", {"uid": uid})
    return [(t, _item("login", "key", f"Session ({device or '?'}, {browser or '?'})", sid))
            for t, device, browser, sid in rows]


def key_views(conn: Connection, uid: int) -> list[Item]:
    rows = fetch(conn, """
        SELECT viewed_at, path, session_id FROM page_views WHERE user_id = %(uid)s
        ORDER BY viewed_at DESC, event_id COLLATE "C" DESC LIMIT 50""", {"uid": uid})
    return [(t, _item("pageview", "eye", f"Visited: {path}", sid))
            for t, path, sid in rows if is_key_page(path)]


def searches(conn: Connection, uid: int) -> list[Item]:
    rows = fetch(conn, """
        SELECT searched_at, query, session_id FROM search_queries WHERE user_id = %(uid)s
        ORDER BY searched_at DESC, event_id COLLATE "C" DESC LIMIT 10""", {"uid": uid})
    return [(t, _item("search", "search", f'Searched: "{q}"', sid)) for t, q, sid in rows]


def conversions(conn: Connection, uid: int) -> list[Item]:
    rows = fetch(conn, """
        SELECT converted_at, event_type, session_id FROM conversion_events
        WHERE user_id = %(uid)s
        ORDER BY converted_at DESC, event_id COLLATE "C" DESC LIMIT 10""", {"uid": uid})
    return [(t, _item("conversion", "check", f"Conversion: {kind}", sid))
            for t, kind, sid in rows]


def resets(conn: Connection, uid: int) -> list[Item]:
    rows = fetch(conn, """
        SELECT created_at FROM email_logs
        WHERE user_id = %(uid)s AND email_type = 'password_reset'
        ORDER BY created_at DESC, event_id COLLATE "C" DESC LIMIT 5""", {"uid": uid})
    return [(t, _item("problem", "alert", "Password reset")) for (t,) in rows]


def alerts(conn: Connection, email: str | None) -> list[Item]:
    rows = fetch(conn, """
        SELECT created_at, alert_type, severity FROM security_alerts
        WHERE user_email = %(email)s
        ORDER BY created_at DESC, event_id COLLATE "C" DESC LIMIT 10""", {"email": email})
    return [(t, _item("problem", "shield",
                      f"Alert: {kind} ({'?' if severity is None else severity})"))
            for t, kind, severity in rows]


def timeline(conn: Connection, uid: int, email: str | None) -> list[dict[str, Any]]:
    """The merged timeline, newest first, at most 100 items ``{type, icon, time, desc,
    session_id}``."""
    items = (sessions(conn, uid) + key_views(conn, uid) + searches(conn, uid)
             + conversions(conn, uid) + resets(conn, uid) + alerts(conn, email))
    items.sort(key=lambda item: item[0], reverse=True)  # stable: source order on ties
    return [{"type": d["type"], "icon": d["icon"], "time": iso(t), "desc": d["desc"],
             "session_id": d["session_id"]} for t, d in items[:TIMELINE_MAX]]
