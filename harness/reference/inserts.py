"""Writing hand-made rows straight into the event tables, for tests of the oracle.

Times are given as ``"YYYY-MM-DD HH:MM[:SS]"`` strings, read as UTC. Event ids are
generated in insertion order unless given (ties in time are broken by them).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from harness.reference.queries import Connection


def at(text: str) -> datetime:
    """``"2026-11-25 08:30"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _at(text: str | None) -> datetime | None:
    return None if text is None else at(text)


class Rows:
    """Inserts rows through one connection; call ``commit`` when done."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._ids = itertools.count(1)

    def _insert(self, table: str, **values: Any) -> None:
        if table != "users":
            values.setdefault("raw", "{}")
        columns = ", ".join(values)
        marks = ", ".join(f"%({c})s" for c in values)
        with self.conn.cursor() as cur:
            cur.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)

    def _eid(self, given: str | None) -> str:
        return given or f"e{next(self._ids):06d}"

    def user(self, uid: int, email: str | None, name: str | None = None, *,
             role: str | None = "MEMBER", active: bool = True, created: str | None = None,
             failed: int = 0, locked_until: str | None = None,
             last_login: str | None = None, stub: bool = False) -> None:
        """A tracked user, or with ``stub`` a login-event stub (no upsert yet)."""
        self._insert("users", id=uid, email=email, name=name, role=role, is_active=active,
                     created_at=_at(created), failed_login_attempts=failed,
                     locked_until=_at(locked_until), last_login=_at(last_login),
                     upserted_at=None if stub else at("2026-01-01 00:00"))

    def session(self, sid: str, uid: int | None, started: str, *,
                device: str | None = "desktop", browser: str | None = "Firefox",
                duration: int | None = None, clicks: int | None = None) -> None:
        self._insert("user_sessions", session_id=sid, event_id=self._eid(None), user_id=uid,
                     started_at=at(started), device_type=device, browser=browser,
                     duration_seconds=duration, clicks_count=clicks)

    def view(self, sid: str | None, uid: int | None, path: str, viewed: str, *,
             load: int | None = None, seconds: int | None = None, scroll: int | None = None,
             eid: str | None = None) -> None:
        event_id = self._eid(eid)
        self._insert("page_views", event_id=event_id, pageview_id=event_id, session_id=sid,
                     user_id=uid, path=path, viewed_at=at(viewed), load_time_ms=load,
                     time_on_page_seconds=seconds, scroll_depth_percent=scroll)

    def error(self, sid: str, uid: int | None, occurred: str, *, message: str = "boom",
              source: str | None = None, line: int | None = None) -> None:
        self._insert("js_errors", event_id=self._eid(None), session_id=sid, user_id=uid,
                     message=message, source=source, line=line, occurred_at=at(occurred))

    def alert(self, email: str, kind: str, created: str, severity: str | None = "high"
              ) -> None:
        self._insert("security_alerts", event_id=self._eid(None), user_email=email,
                     alert_type=kind, severity=severity, created_at=at(created))

    def reset(self, uid: int, created: str) -> None:
        self._insert("email_logs", event_id=self._eid(None), user_id=uid,
                     email_type="password_reset", created_at=at(created))

    def search(self, uid: int | None, query: str, searched: str) -> None:
        self._insert("search_queries", event_id=self._eid(None), user_id=uid, query=query,
                     searched_at=at(searched))

    def conversion(self, uid: int | None, kind: str, converted: str) -> None:
        self._insert("conversion_events", event_id=self._eid(None), user_id=uid,
                     event_type=kind, converted_at=at(converted))

    def commit(self) -> None:
        self.conn.commit()
