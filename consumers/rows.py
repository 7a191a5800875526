"""Accepted events as table rows, and the state changes they imply: pure functions, no I/O.

Row column orders match ``COLUMNS``; the durable write copies them as they are.
User state is folded per user in arrival order, so a batch changes each user
row once: profile fields from ``user_upsert`` (only the fields it carries),
``failed_login_attempts`` (+1 per failure, reset by a success), ``last_login``
(the latest success) and ``locked_until`` (the last lock or unlock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from msgspec import UNSET

from consumers.copy import Json, Value
from insights.events import contract as c

Row = tuple[Value, ...]

#: Table -> columns of the rows built here.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "user_sessions": ("session_id", "event_id", "user_id", "started_at", "device_type",
                      "browser", "duration_seconds", "clicks_count", "ended_at", "raw"),
    "page_views": ("event_id", "pageview_id", "session_id", "user_id", "path", "viewed_at",
                   "load_time_ms", "time_on_page_seconds", "scroll_depth_percent",
                   "leave_event_id", "leave_raw", "raw"),
    "js_errors": ("event_id", "session_id", "user_id", "message", "source", "line",
                  "occurred_at", "raw"),
    "security_alerts": ("event_id", "user_email", "alert_type", "severity", "user_id",
                        "created_at", "raw"),
    "email_logs": ("event_id", "user_id", "email_type", "created_at", "raw"),
    "search_queries": ("event_id", "user_id", "session_id", "query", "searched_at", "raw"),
    "conversion_events": ("event_id", "user_id", "session_id", "event_type", "converted_at",
                          "raw"),
    "state_events": ("event_id", "type", "user_id", "session_id", "pageview_id", "ts", "raw"),
}
LEDGER_COLUMNS: Final = ("event_id", "type", "topic", "partition", "offset", "ts")

End = tuple[int | None, int | None, datetime]
"""What a session_end sets: duration_seconds, clicks_count, ended_at."""
Leave = tuple[int | None, int | None, str, Json]
"""What a page_leave sets: time_on_page_seconds, scroll_depth_percent, its event_id and JSON."""
_NO_END: Final[tuple[None, None, None]] = (None, None, None)
_NO_LEAVE: Final[tuple[None, None, None, None]] = (None, None, None, None)
PROFILE_FIELDS: Final = ("email", "name", "role", "is_active", "created_at", "company")


def table_row(event: c.Event, raw: bytes, ends: Mapping[str, End] | None = None,
              leaves: Mapping[str, Leave] | None = None) -> tuple[str, Row]:
    """The table an accepted event is stored in, and its row.

    A session row carries its end and a view row its leave when ``ends`` /
    ``leaves`` know them (they arrived before or in the same batch).
    """
    e, j = event, Json(raw)
    if isinstance(e, c.SessionStart):
        end = (ends or {}).get(e.session_id, _NO_END)
        return "user_sessions", (e.session_id, e.event_id, e.user_id, e.ts, e.device_type,
                                 e.browser, *end, j)
    if isinstance(e, c.PageView):
        leave = (leaves or {}).get(e.pageview_id, _NO_LEAVE)
        return "page_views", (e.event_id, e.pageview_id, e.session_id, e.user_id, e.path,
                              e.ts, e.load_time_ms, *leave, j)
    if isinstance(e, c.JsError):
        return "js_errors", (e.event_id, e.session_id, e.user_id, e.message, e.source, e.line,
                             e.ts, j)
    if isinstance(e, c.SecurityAlert):
        return "security_alerts", (e.event_id, e.user_email, e.alert_type, e.severity,
                                   e.user_id, e.ts, j)
    if isinstance(e, c.PasswordReset):
        return "email_logs", (e.event_id, e.user_id, "password_reset", e.ts, j)
    if isinstance(e, c.Search):
        return "search_queries", (e.event_id, e.user_id, e.session_id, e.query, e.ts, j)
    if isinstance(e, c.Conversion):
        return "conversion_events", (e.event_id, e.user_id, e.session_id, e.event_type, e.ts, j)
    pageview_id = e.pageview_id if isinstance(e, c.PageLeave) else None
    return "state_events", (e.event_id, c.event_type(e), e.user_id, e.session_id, pageview_id,
                            e.ts, j)


@dataclass
class UserChange:
    """What one batch does to one user row."""

    user_id: int
    profile: dict[str, Value] = field(default_factory=dict)
    upserted_at: datetime | None = None
    reset_failed: bool = False
    failed_added: int = 0
    last_login: datetime | None = None
    lock_changed: bool = False
    locked_until: datetime | None = None

    def apply(self, event: c.Event) -> None:
        """Fold the next event of this user (arrival order) into the change."""
        if isinstance(event, c.UserUpsert):
            for name in PROFILE_FIELDS:
                value = getattr(event, name)
                if value is not UNSET:
                    self.profile[name] = value
            self.upserted_at = _latest(self.upserted_at, event.ts)
        elif isinstance(event, c.LoginFailed):
            self.failed_added += 1
        elif isinstance(event, c.LoginSucceeded):
            self.reset_failed, self.failed_added = True, 0
            self.last_login = _latest(self.last_login, event.ts)
        elif isinstance(event, c.AccountLocked):
            self.lock_changed, self.locked_until = True, event.locked_until
        elif isinstance(event, c.AccountUnlocked):
            self.lock_changed, self.locked_until = True, None

    def row(self) -> Row:
        """Columns of ``USER_CHANGE_COLUMNS``."""
        carried = tuple(self.profile.get(name) for name in PROFILE_FIELDS)
        flags = tuple(name in self.profile for name in PROFILE_FIELDS)
        return (self.user_id, *carried, *flags, self.upserted_at, self.reset_failed,
                self.failed_added, self.last_login, self.lock_changed, self.locked_until)


USER_CHANGE_COLUMNS: Final = (
    "user_id", *PROFILE_FIELDS, *(f"has_{name}" for name in PROFILE_FIELDS), "upserted_at",
    "reset_failed", "failed_added", "last_login", "lock_changed", "locked_until",
)
_USER_EVENTS: Final = (c.UserUpsert, c.LoginFailed, c.LoginSucceeded, c.AccountLocked,
                       c.AccountUnlocked)


def user_changes(events: Iterable[c.Event]) -> list[UserChange]:
    """Fold user-state events (in arrival order) into one change per user."""
    changes: dict[int, UserChange] = {}
    for event in events:
        if isinstance(event, _USER_EVENTS):
            user_id = event.user_id
            change = changes.get(user_id) or changes.setdefault(user_id, UserChange(user_id))
            change.apply(event)
    return list(changes.values())


def session_ends(events: Iterable[c.Event]) -> dict[str, End]:
    """Each session's last end in ``events``: session_id -> (duration, clicks, ended_at)."""
    return {e.session_id: (e.duration_seconds, e.clicks_count, e.ts)
            for e in events if isinstance(e, c.SessionEnd)}


def page_leaves(events: Iterable[tuple[c.Event, bytes]]) -> dict[str, Leave]:
    """Each view's last leave among (event, raw JSON) pairs: pageview_id -> ``Leave``."""
    return {e.pageview_id: (e.time_on_page_seconds, e.scroll_depth_percent, e.event_id, Json(raw))
            for e, raw in events if isinstance(e, c.PageLeave)}


def _latest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment > current else current
