"""The reference application's database, mapped to contract events (``insights import
--from-db``).

The reference is the admin dashboard insights replaces; its site keeps history in
the tables ``users``, ``user_sessions``, ``page_views``, ``js_errors``,
``security_alerts``, ``email_logs``, ``search_queries`` and ``conversion_events``.
Each row becomes the events that would have produced it (README, "Importing
history", has the table of the mapping); a row that cannot become one says why
(``Unmapped``), to be reported and kept, never dropped in silence.

Event ids are stable (``ref:TABLE:ID`` and a suffix for a row giving several),
so importing the same database again adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from psycopg2 import sql

from insights.database import Connection

Row = dict[str, Any]
Events = list[dict[str, Any]]
DEVICES: Final = frozenset({"desktop", "mobile", "tablet"})
SEVERITIES: Final = frozenset({"low", "medium", "high", "critical"})


@dataclass(frozen=True)
class Unmapped:
    """Why a row gives no event."""

    reason: str


@dataclass(frozen=True)
class Table:
    """A table of the reference's database: the columns read, and its mapping."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    mapper: Callable[[Row, datetime], Events | Unmapped]


def _aware(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive one is taken as UTC, as the reference stores them)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ts(moment: datetime) -> str:
    """A timestamp as RFC 3339 in UTC."""
    return _aware(moment).isoformat().replace("+00:00", "Z")


def _id(table: str, row: Row, part: str = "") -> str:
    return f"ref:{table}:{row['id']}{':' + part if part else ''}"


def _users(row: Row, now: datetime) -> Events | Unmapped:
    """A user: its profile; its last log-in, its failed log-ins since, its lock if it
    has not ended (the failures' times are not kept: one second apart after the later of
    the last log-in and the account's creation)."""
    if not row.get("email"):
        return Unmapped("no e-mail (a user_upsert needs one)")
    created = row.get("created_at")
    profile: dict[str, Any] = {k: row[k] for k in ("name", "role", "is_active", "company")
                               if row.get(k) is not None}
    if created is not None:
        profile["created_at"] = _ts(created)
    events: Events = [{"type": "user_upsert", "event_id": _id("users", row, "upsert"),
                       "ts": _ts(created or now), "user_id": row["id"], "email": row["email"],
                       **profile}]
    last = row.get("last_login")
    if last is not None:
        events.append({"type": "login_succeeded", "event_id": _id("users", row, "login"),
                       "ts": _ts(last), "user_id": row["id"]})
    base = max([_aware(t) for t in (last, created) if t is not None], default=now)
    failures = int(row.get("failed_login_attempts") or 0)
    for n in range(1, failures + 1):
        events.append({"type": "login_failed", "event_id": _id("users", row, f"failed:{n}"),
                       "ts": _ts(min(now, base + timedelta(seconds=n))), "user_id": row["id"]})
    until = row.get("locked_until")
    if until is not None and _aware(until) > now:
        events.append({"type": "account_locked", "event_id": _id("users", row, "locked"),
                       "ts": _ts(min(now, base + timedelta(seconds=failures + 1))),
                       "user_id": row["id"], "locked_until": _ts(until)})
    return events


def _sessions(row: Row, now: datetime) -> Events | Unmapped:
    """A session: its start, and its end when it has a duration or clicks (at the start
    plus the duration)."""
    sid, start = str(row["id"]), row["started_at"]
    device = row.get("device_type")
    events: Events = [{"type": "session_start", "event_id": _id("user_sessions", row, "start"),
                       "ts": _ts(start), "session_id": sid, "user_id": row.get("user_id"),
                       "device_type": device if device in DEVICES else None,
                       "browser": row.get("browser")}]
    duration, clicks = row.get("duration_seconds"), row.get("clicks_count")
    if duration is not None or clicks is not None:
        ended = row.get("ended_at") or start + timedelta(seconds=duration or 0)
        events.append({"type": "session_end", "event_id": _id("user_sessions", row, "end"),
                       "ts": _ts(ended), "session_id": sid, "user_id": row.get("user_id"),
                       "duration_seconds": duration, "clicks_count": clicks})
    return events


def _views(row: Row, now: datetime) -> Events | Unmapped:
    """A page view, and its leave when it has a time on page or a scroll depth."""
    session = row.get("session_id")
    common = {"session_id": None if session is None else str(session),
              "user_id": row.get("user_id"), "pageview_id": str(row["id"])}
    events: Events = [{"type": "pageview", "event_id": _id("page_views", row, "view"),
                       "ts": _ts(row["viewed_at"]), "path": row["path"],
                       "load_time_ms": row.get("load_time_ms"), **common}]
    on_page, scroll = row.get("time_on_page_seconds"), row.get("scroll_depth_percent")
    if on_page is not None or scroll is not None:
        events.append({"type": "page_leave", "event_id": _id("page_views", row, "leave"),
                       "ts": _ts(row["viewed_at"] + timedelta(seconds=on_page or 0)),
                       "time_on_page_seconds": on_page, "scroll_depth_percent": scroll,
                       **common})
    return events


def _errors(row: Row, now: datetime) -> Events | Unmapped:
    if row.get("session_id") is None:
        return Unmapped("no session (a js_error needs one)")
    return [{"type": "js_error", "event_id": _id("js_errors", row), "ts": _ts(row["occurred_at"]),
             "session_id": str(row["session_id"]), "user_id": row.get("user_id"),
             "message": row.get("message") or "", "source": row.get("source"),
             "line": row.get("line")}]


def _alerts(row: Row, now: datetime) -> Events | Unmapped:
    severity = row.get("severity")
    return [{"type": "security_alert", "event_id": _id("security_alerts", row),
             "ts": _ts(row["created_at"]), "user_email": row["user_email"],
             "alert_type": row["alert_type"], "user_id": row.get("user_id"),
             "severity": severity if severity in SEVERITIES else None}]


def _emails(row: Row, now: datetime) -> Events | Unmapped:
    if row["email_type"] != "password_reset":
        return Unmapped(f"e-mail type {row['email_type']!r} (only password resets are events)")
    if row.get("user_id") is None:
        return Unmapped("a password reset of no user")
    return [{"type": "password_reset", "event_id": _id("email_logs", row),
             "ts": _ts(row["created_at"]), "user_id": row["user_id"]}]


def _searches(row: Row, now: datetime) -> Events | Unmapped:
    session = row.get("session_id")
    return [{"type": "search", "event_id": _id("search_queries", row),
             "ts": _ts(row["searched_at"]), "user_id": row.get("user_id"),
             "session_id": None if session is None else str(session),
             "query": row.get("query") or ""}]


def _conversions(row: Row, now: datetime) -> Events | Unmapped:
    if not row.get("event_type"):
        return Unmapped("no event_type (a conversion needs one)")
    session = row.get("session_id")
    return [{"type": "conversion", "event_id": _id("conversion_events", row),
             "ts": _ts(row["converted_at"]), "user_id": row.get("user_id"),
             "session_id": None if session is None else str(session),
             "event_type": row["event_type"]}]


#: The tables, in the order they are imported (users first: the others refer to them).
TABLES: Final = (
    Table("users", ("id", "email"), ("name", "role", "is_active", "created_at", "company",
                                     "failed_login_attempts", "locked_until", "last_login"),
          _users),
    Table("user_sessions", ("id", "started_at"), ("user_id", "device_type", "browser",
                                                  "duration_seconds", "clicks_count",
                                                  "ended_at"), _sessions),
    Table("page_views", ("id", "path", "viewed_at"), ("session_id", "user_id", "load_time_ms",
                                                      "time_on_page_seconds",
                                                      "scroll_depth_percent"), _views),
    Table("js_errors", ("id", "occurred_at"), ("session_id", "user_id", "message", "source",
                                               "line"), _errors),
    Table("security_alerts", ("id", "user_email", "alert_type", "created_at"),
          ("severity", "user_id"), _alerts),
    Table("email_logs", ("id", "email_type", "created_at"), ("user_id",), _emails),
    Table("search_queries", ("id", "searched_at"), ("user_id", "session_id", "query"),
          _searches),
    Table("conversion_events", ("id", "converted_at"), ("user_id", "session_id",
                                                         "event_type"), _conversions),
)


class MissingColumns(ValueError):
    """The database lacks a table or columns the mapping needs; the message names them."""


def columns(conn: Connection, schema: str, table: Table) -> list[str]:
    """The columns of ``table`` to read: its required ones (all must exist) and the
    optional ones the database has."""
    with conn.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = %s", (schema, table.name))
        found = {r[0] for r in cur.fetchall()}
    if not found:
        raise MissingColumns(f"no table {schema}.{table.name}")
    missing = [c for c in table.required if c not in found]
    if missing:
        raise MissingColumns(f"{schema}.{table.name} has no column {', '.join(missing)}")
    return [*table.required, *(c for c in table.optional if c in found)]


def count(conn: Connection, schema: str, table: Table) -> int:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table.name)))
        found = cur.fetchone()
    return int(found[0]) if found else 0


def rows(conn: Connection, schema: str, table: Table, names: list[str],
         batch: int = 5000) -> Iterator[Row]:
    """Every row of ``table`` (a server-side cursor, ``batch`` rows at a time), by id."""
    query = sql.SQL("SELECT {} FROM {}.{} ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, names)), sql.Identifier(schema),
        sql.Identifier(table.name))
    with conn.cursor(name=f"insights_import_{table.name}") as cur:
        cur.itersize = batch
        cur.execute(query)
        for values in cur:
            yield dict(zip(names, values, strict=True))
