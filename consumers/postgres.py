"""The PostgreSQL sink: a batch's rows, state changes, dead letters and offsets in one transaction.

Exactly once comes from two guards inside that transaction:

1. ``sink_offsets`` rows of the batch's partitions are locked; records below the
   stored next offset are skipped (a replay after a crash, or a batch a revoked
   consumer still writes after the partition moved on).
2. ``event_ledger`` takes each event id once; only events whose id is new there
   change anything, so a producer's duplicate (another offset) counts once. The
   ids are copied optimistically; a batch holding a stored id is redone without
   it from a savepoint.

A batch that PostgreSQL refuses as data (a value it cannot store), or whose
rows cannot be built, is split in halves until the one bad record is found and
dead-lettered (``unstorable`` or ``unprocessable``); an outage (connection
trouble, a timeout, a deadlock) or a setup error raises ``SinkUnavailable`` and
the caller retries the same batch later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from consumers import rows
from consumers.batch import Accepted, Item, Rejected, next_offsets, unprocessable
from consumers.copy import Json, encode
from consumers.rows import Row
from consumers.sink import SinkUnavailable, WriteResult, isolate
from insights.database import (
    Connection,
    array_literal,
    connect,
    refused_data,
    storable_text,
)
from insights.events.contract import Event, PageLeave, PageView, SessionStart, event_type
from insights.events.kafka import Partition

log = logging.getLogger(__name__)
Cursor = psycopg2.extensions.cursor

SINK = "postgres"
_TEMP_TABLES = """
CREATE TEMP TABLE tmp_user_changes (user_id bigint, email text, name text, role text,
    is_active boolean, created_at timestamptz, company text, has_email boolean,
    has_name boolean, has_role boolean, has_is_active boolean, has_created_at boolean,
    has_company boolean, upserted_at timestamptz, reset_failed boolean, failed_added int,
    last_login timestamptz, lock_changed boolean, locked_until timestamptz)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_session_ends (session_id text, duration_seconds int, clicks_count int,
    ended_at timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_page_leaves (pageview_id text, time_on_page_seconds int,
    scroll_depth_percent int, leave_event_id text, leave_raw json) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_rejected (topic text, "partition" int, "offset" bigint, key bytea,
    value bytea, reason text, detail text) ON COMMIT DELETE ROWS;
"""


class PostgresSink:
    """Write-through of batches into the event tables; see the module docstring."""

    name = SINK

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Connection | None = None

    def prepare(self) -> None:
        """Nothing to make ready: the schema is migrated before consuming."""

    def stored_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """The next offset to read per partition, for those this sink has seen."""
        if not partitions:
            return {}
        try:
            with self._connection().cursor() as cur:
                cur.execute('SELECT topic, "partition", next_offset FROM sink_offsets'
                            ' WHERE sink = %s AND (topic, "partition") IN %s',
                            (SINK, tuple(partitions)))
                found = {(t, p): o for t, p, o in cur.fetchall()}
            self._connection().commit()
        except psycopg2.Error as exc:
            raise self._unavailable(exc) from exc
        return found

    def write(self, items: Sequence[Item]) -> WriteResult:
        """Apply a batch exactly once; a record PostgreSQL refuses, or whose rows cannot be
        built, is isolated and dead-lettered (``consumers.sink.isolate``)."""
        return isolate(items, self._attempt, self._reject)

    def _attempt(self, items: Sequence[Item]) -> WriteResult:
        """One transaction; an outage raises ``SinkUnavailable``, anything else rolls back
        and raises for ``isolate`` to split the batch."""
        try:
            return self._transaction(items)
        except psycopg2.Error as exc:
            self._rollback()
            if not refused_data(exc):
                raise self._unavailable(exc) from exc
            raise
        except Exception:
            self._rollback()
            raise

    def _reject(self, item: Item, exc: Exception) -> WriteResult:
        if isinstance(exc, psycopg2.Error):
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            rejected = Rejected(item.record, "unstorable", detail)
        else:
            rejected = unprocessable(item.record, exc)
        return self._attempt([rejected])

    def _rollback(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.rollback()
            except psycopg2.Error as exc:
                raise self._unavailable(exc) from exc

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            conn = connect(self._url)
            with conn.cursor() as cur:
                cur.execute(_TEMP_TABLES)
            conn.commit()
            self._conn = conn
        return self._conn

    def _unavailable(self, exc: psycopg2.Error) -> SinkUnavailable:
        self.close()
        return SinkUnavailable(f"PostgreSQL: {str(exc).strip() or type(exc).__name__}")

    def _transaction(self, items: Sequence[Item]) -> WriteResult:
        conn = self._connection()
        with conn.cursor() as cur:
            result = self._apply(cur, items)
        conn.commit()
        return result

    def _apply(self, cur: Cursor, items: Sequence[Item]) -> WriteResult:
        stored = _lock_offsets(cur, sorted(next_offsets(items)))
        fresh = [i for i in items
                 if i.record.offset >= stored[(i.record.topic, i.record.partition)]]
        accepted, seen = [], set()
        for item in fresh:
            if isinstance(item, Accepted) and item.event.event_id not in seen:
                seen.add(item.event.event_id)
                accepted.append(item)
        new = _insert_ledger(cur, accepted)
        conflicts = _conflicts(cur, new)
        applied = [a for a in new if a.event.event_id not in conflicts]
        _insert_events(cur, applied)
        _apply_state(cur, [a.event for a in applied])
        rejected = [i for i in fresh if isinstance(i, Rejected)]
        rejected += [Rejected(a.record, "conflict", conflicts[a.event.event_id])
                     for a in new if a.event.event_id in conflicts]
        _insert_rejected(cur, rejected)
        _save_offsets(cur, next_offsets(fresh))
        duplicates = sum(isinstance(i, Accepted) for i in fresh) - len(new)
        return WriteResult(applied, duplicates, len(items) - len(fresh), rejected)


def _copy(cur: Cursor, table: str, columns: Sequence[str], data: Sequence[Row]) -> None:
    if data:
        quoted = ", ".join(f'"{c}"' for c in columns)
        cur.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", encode(data))


def _insert_ledger(cur: Cursor, accepted: Sequence[Accepted]) -> list[Accepted]:
    """Record the batch's event ids; returns the events whose id is new.

    Duplicates are rare, so the ids are copied straight away under a savepoint;
    only when that hits a stored id are the stored ones looked up and left out.
    """
    cur.execute("SAVEPOINT ledger")
    try:
        _copy(cur, "event_ledger", rows.LEDGER_COLUMNS, _ledger_rows(accepted))
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT ledger")
        known = _existing(cur, "event_ledger", "event_id", [a.event.event_id for a in accepted])
        accepted = [a for a in accepted if a.event.event_id not in known]
        _copy(cur, "event_ledger", rows.LEDGER_COLUMNS, _ledger_rows(accepted))
    cur.execute("RELEASE SAVEPOINT ledger")
    return list(accepted)


def _ledger_rows(accepted: Sequence[Accepted]) -> list[Row]:
    return [(a.event.event_id, event_type(a.event), a.record.topic, a.record.partition,
             a.record.offset, a.event.ts) for a in accepted]


def _existing(cur: Cursor, table: str, column: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the table already holds in ``column`` (one indexed look-up)."""
    if not keys:
        return set()
    cur.execute(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s::text[])",
                (array_literal(keys),))
    return {row[0] for row in cur.fetchall()}


def _lock_offsets(cur: Cursor, partitions: Sequence[Partition]) -> dict[Partition, int]:
    """Lock the offset rows of the batch's partitions (creating missing ones at 0)."""
    psycopg2.extras.execute_values(
        cur, 'INSERT INTO sink_offsets (sink, topic, "partition", next_offset) VALUES %s'
        " ON CONFLICT DO NOTHING", [(SINK, t, p, 0) for t, p in partitions])
    cur.execute('SELECT topic, "partition", next_offset FROM sink_offsets WHERE sink = %s'
                ' AND (topic, "partition") IN %s ORDER BY topic, "partition" FOR UPDATE',
                (SINK, tuple(partitions)))
    return {(t, p): o for t, p, o in cur.fetchall()}


def _conflicts(cur: Cursor, new: Sequence[Accepted]) -> dict[str, str]:
    """New events that would start a stored session or view again (the first one wins)."""
    refused: dict[str, str] = {}
    for kind, table, column in ((SessionStart, "user_sessions", "session_id"),
                                (PageView, "page_views", "pageview_id")):
        events = [a.event for a in new if isinstance(a.event, kind)]
        taken = _existing(cur, table, column, [getattr(e, column) for e in events])
        for event in events:
            key = getattr(event, column)
            if key in taken:
                refused[event.event_id] = f"{column} {key!r} is already stored by another event"
            taken.add(key)
    return refused


def _insert_events(cur: Cursor, applied: Sequence[Accepted]) -> None:
    """Copy each event's row; sessions and views carry the ends and leaves known so far.

    A page_leave is stored on its view's row; it waits in ``state_events`` only
    while its view has not arrived.
    """
    pairs = [(a.event, a.record.value) for a in applied]
    events = [e for e, _ in pairs]
    ends = rows.session_ends(events)
    ends |= _pending(cur, _PENDING_ENDS, [e.session_id for e in events
                                          if isinstance(e, SessionStart)
                                          and e.session_id not in ends])
    viewed = {e.pageview_id for e in events if isinstance(e, PageView)}
    leaves = rows.page_leaves(pairs)
    folded = {pid: leave for pid, leave in leaves.items() if pid in viewed}
    folded |= {pid: (*leave[:3], Json(leave[3].encode())) for pid, leave in _pending(
        cur, _PENDING_LEAVES, [pid for pid in viewed if pid not in folded]).items()}
    late = {pid: leave for pid, leave in leaves.items() if pid not in viewed}
    updated = _update_late_leaves(cur, late)      # once: one COPY and one UPDATE per batch
    kept = {leave[2] for pid, leave in leaves.items() if pid in viewed or pid in updated}
    by_table: dict[str, list[Row]] = {}
    for event, raw in pairs:
        if not (isinstance(event, PageLeave) and event.event_id in kept):
            table, row = rows.table_row(event, raw, ends, folded)
            by_table.setdefault(table, []).append(row)
    for table, data in by_table.items():
        _copy(cur, table, rows.COLUMNS[table], data)


def _update_late_leaves(cur: Cursor, late: dict[str, rows.Leave]) -> set[str]:
    """Put leaves on views stored by earlier batches; returns the views updated."""
    if not late:
        return set()
    _copy(cur, "tmp_page_leaves", ("pageview_id", "time_on_page_seconds",
                                   "scroll_depth_percent", "leave_event_id", "leave_raw"),
          [(pid, *leave) for pid, leave in late.items()])
    cur.execute("UPDATE page_views v SET time_on_page_seconds = t.time_on_page_seconds,"
                " scroll_depth_percent = t.scroll_depth_percent,"
                " leave_event_id = t.leave_event_id, leave_raw = t.leave_raw"
                " FROM tmp_page_leaves t WHERE v.pageview_id = t.pageview_id"
                " RETURNING v.pageview_id")
    return {row[0] for row in cur.fetchall()}


# Ends and leaves that arrived in an earlier batch than their session or view.
_PENDING_ENDS = """
SELECT DISTINCT ON (session_id) session_id, (raw->>'duration_seconds')::int,
       (raw->>'clicks_count')::int, ts
FROM state_events WHERE type = 'session_end' AND session_id = ANY(%s::text[])
ORDER BY session_id, ts DESC, event_id DESC"""
_PENDING_LEAVES = """
SELECT DISTINCT ON (pageview_id) pageview_id, (raw->>'time_on_page_seconds')::int,
       (raw->>'scroll_depth_percent')::int, event_id, raw::text
FROM state_events WHERE type = 'page_leave' AND pageview_id = ANY(%s::text[])
ORDER BY pageview_id, ts DESC, event_id DESC"""


def _pending(cur: Cursor, sql: str, keys: Sequence[str]) -> dict[str, Any]:
    if not keys:
        return {}
    cur.execute(sql, (array_literal(keys),))
    return {row[0]: tuple(row[1:]) for row in cur.fetchall()}


_UPDATE_USERS = """
UPDATE users u SET
    email = CASE WHEN t.has_email THEN t.email ELSE u.email END,
    name = CASE WHEN t.has_name THEN t.name ELSE u.name END,
    role = CASE WHEN t.has_role THEN t.role ELSE u.role END,
    is_active = CASE WHEN t.has_is_active THEN t.is_active ELSE u.is_active END,
    created_at = CASE WHEN t.has_created_at THEN t.created_at ELSE u.created_at END,
    company = CASE WHEN t.has_company THEN t.company ELSE u.company END,
    upserted_at = GREATEST(u.upserted_at, t.upserted_at),
    failed_login_attempts = CASE WHEN t.reset_failed THEN t.failed_added
                                 ELSE u.failed_login_attempts + t.failed_added END,
    last_login = GREATEST(u.last_login, t.last_login),
    locked_until = CASE WHEN t.lock_changed THEN t.locked_until ELSE u.locked_until END,
    updated_at = now()
FROM tmp_user_changes t WHERE u.id = t.user_id"""


def _apply_state(cur: Cursor, events: Sequence[Event]) -> None:
    """Users and session ends: the rows the batch's state events change.

    A session inserted in this batch already took its end on insert; only
    sessions of earlier batches are updated here.
    """
    changes = sorted(rows.user_changes(events), key=lambda ch: ch.user_id)
    if changes:
        ids = [ch.user_id for ch in changes]
        # Lock in id order: two consumers touching the same users cannot deadlock.
        cur.execute("INSERT INTO users (id) SELECT unnest(%s::bigint[]) ORDER BY 1"
                    " ON CONFLICT DO NOTHING", (ids,))
        cur.execute("SELECT id FROM users WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))
        _copy(cur, "tmp_user_changes", rows.USER_CHANGE_COLUMNS, [ch.row() for ch in changes])
        cur.execute(_UPDATE_USERS)
    started = {e.session_id for e in events if isinstance(e, SessionStart)}
    ends = [(sid, *end) for sid, end in rows.session_ends(events).items()
            if sid not in started]
    if ends:
        _copy(cur, "tmp_session_ends", ("session_id", "duration_seconds", "clicks_count",
                                        "ended_at"), ends)
        cur.execute("UPDATE user_sessions u SET duration_seconds = t.duration_seconds,"
                    " clicks_count = t.clicks_count, ended_at = t.ended_at"
                    " FROM tmp_session_ends t WHERE u.session_id = t.session_id")


def _insert_rejected(cur: Cursor, rejected: Sequence[Rejected]) -> None:
    if rejected:
        _copy(cur, "tmp_rejected", ("topic", "partition", "offset", "key", "value", "reason",
                                    "detail"),
              [(r.record.topic, r.record.partition, r.record.offset, r.record.key,
                r.record.value, r.reason, storable_text(r.detail)) for r in rejected])
        cur.execute('INSERT INTO rejected_events (topic, "partition", "offset", key, value,'
                    " reason, detail) SELECT * FROM tmp_rejected"
                    ' ON CONFLICT (topic, "partition", "offset") DO NOTHING')


def _save_offsets(cur: Cursor, offsets: dict[Partition, int]) -> None:
    if offsets:
        psycopg2.extras.execute_values(
            cur, 'INSERT INTO sink_offsets (sink, topic, "partition", next_offset) VALUES %s'
            ' ON CONFLICT (sink, topic, "partition") DO UPDATE SET next_offset ='
            " GREATEST(sink_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()",
            [(SINK, t, p, o) for (t, p), o in sorted(offsets.items())])
