"""The PostgreSQL sink: a batch's rows, state changes, dead letters and offsets in one transaction.

Exactly once comes from two guards inside that transaction:

1. ``sink_offsets`` rows of the batch's partitions are locked; records below the
   stored next offset are skipped (a replay after a crash, or a batch a revoked
   consumer still writes after the partition moved on).
2. ``event_ledger`` takes each event id once; only events whose id is new there
   change anything, so a producer's duplicate (another offset) counts once.

A batch that PostgreSQL refuses as data (a value it cannot store) is split in
halves until the one bad record is found and dead-lettered; connection trouble
raises ``SinkUnavailable`` and the caller retries the same batch later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg2
import psycopg2.extras

from consumers import rows
from consumers.batch import Accepted, Item, Rejected, next_offsets
from consumers.copy import encode
from consumers.rows import Row
from insights.contract import Event, PageView, SessionStart, event_type
from insights.database import Connection, connect
from insights.kafka import Partition

log = logging.getLogger(__name__)

SINK = "postgres"
_DIRECT_TABLES = ("js_errors", "security_alerts", "email_logs", "search_queries",
                  "conversion_events", "state_events")
_TEMP_TABLES = """
CREATE TEMP TABLE tmp_ledger (event_id text, type text, topic text, "partition" int,
    "offset" bigint, ts timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_user_sessions (session_id text, event_id text, user_id bigint,
    started_at timestamptz, device_type text, browser text, raw jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_page_views (event_id text, pageview_id text, session_id text,
    user_id bigint, path text, viewed_at timestamptz, load_time_ms int, raw jsonb)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_user_changes (user_id bigint, email text, name text, role text,
    is_active boolean, created_at timestamptz, company text, has_email boolean,
    has_name boolean, has_role boolean, has_is_active boolean, has_created_at boolean,
    has_company boolean, upserted_at timestamptz, reset_failed boolean, failed_added int,
    last_login timestamptz, lock_changed boolean, locked_until timestamptz)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_session_ends (session_id text, duration_seconds int, clicks_count int,
    ended_at timestamptz) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_page_leaves (pageview_id text, time_on_page_seconds int,
    scroll_depth_percent int) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE tmp_rejected (topic text, "partition" int, "offset" bigint, key bytea,
    value bytea, reason text, detail text) ON COMMIT DELETE ROWS;
"""


class SinkUnavailable(RuntimeError):
    """The sink cannot be reached or refused for a transient reason; retry the batch later."""


@dataclass
class WriteResult:
    """What a batch did: ``applied`` are the events whose effects were stored just now."""

    applied: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def merge(self, other: WriteResult) -> WriteResult:
        return WriteResult(self.applied + other.applied, self.duplicates + other.duplicates,
                           self.skipped + other.skipped, self.rejected + other.rejected)


class PostgresSink:
    """Write-through of batches into the event tables; see the module docstring."""

    name = SINK

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Connection | None = None

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
        """Apply a batch exactly once; split it to isolate data PostgreSQL refuses."""
        try:
            return self._transaction(items)
        except (psycopg2.DataError, psycopg2.IntegrityError) as exc:
            self._connection().rollback()
            if len(items) > 1:
                half = len(items) // 2
                return self.write(items[:half]).merge(self.write(items[half:]))
            record = items[0].record
            log.warning("dead-lettering %s/%d@%d: PostgreSQL refused it: %s",
                        record.topic, record.partition, record.offset, exc)
            detail = str(exc).strip().splitlines()[0]
            return self._transaction([Rejected(record, "unstorable", detail)])
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

    def _apply(self, cur: psycopg2.extensions.cursor, items: Sequence[Item]) -> WriteResult:
        stored = _lock_offsets(cur, sorted(next_offsets(items)))
        fresh = [i for i in items
                 if i.record.offset >= stored[(i.record.topic, i.record.partition)]]
        accepted, seen = [], set()
        for item in fresh:
            if isinstance(item, Accepted) and item.event.event_id not in seen:
                seen.add(item.event.event_id)
                accepted.append(item)
        rejected = [i for i in fresh if isinstance(i, Rejected)]
        new_ids = _insert_ledger(cur, accepted)
        applied = [a for a in accepted if a.event.event_id in new_ids]
        conflicts = _insert_events(cur, applied)
        applied = [a for a in applied if a.event.event_id not in conflicts]
        rejected += [Rejected(a.record, "conflict", conflicts[a.event.event_id])
                     for a in accepted if a.event.event_id in conflicts]
        _apply_state(cur, [a.event for a in applied])
        _insert_rejected(cur, rejected)
        _save_offsets(cur, next_offsets(fresh))
        duplicates = sum(isinstance(i, Accepted) for i in fresh) - len(applied) - len(conflicts)
        return WriteResult(applied, duplicates, len(items) - len(fresh), rejected)


def _copy(cur: psycopg2.extensions.cursor, table: str, columns: Sequence[str],
          data: Sequence[Row]) -> None:
    if data:
        quoted = ", ".join(f'"{c}"' for c in columns)
        cur.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", encode(data))


def _lock_offsets(cur: psycopg2.extensions.cursor,
                  partitions: Sequence[Partition]) -> dict[Partition, int]:
    """Lock the offset rows of the batch's partitions (creating missing ones at 0)."""
    psycopg2.extras.execute_values(
        cur, 'INSERT INTO sink_offsets (sink, topic, "partition", next_offset) VALUES %s'
        " ON CONFLICT DO NOTHING", [(SINK, t, p, 0) for t, p in partitions])
    cur.execute('SELECT topic, "partition", next_offset FROM sink_offsets WHERE sink = %s'
                ' AND (topic, "partition") IN %s ORDER BY topic, "partition" FOR UPDATE',
                (SINK, tuple(partitions)))
    return {(t, p): o for t, p, o in cur.fetchall()}


def _insert_ledger(cur: psycopg2.extensions.cursor, accepted: Sequence[Accepted]) -> set[str]:
    """Record the batch's event ids; returns those not seen before."""
    if not accepted:
        return set()
    _copy(cur, "tmp_ledger", ("event_id", "type", "topic", "partition", "offset", "ts"),
          [(a.event.event_id, event_type(a.event), a.record.topic,
            a.record.partition, a.record.offset, a.event.ts) for a in accepted])
    cur.execute("INSERT INTO event_ledger (event_id, type, topic, \"partition\", \"offset\", ts)"
                " SELECT * FROM tmp_ledger ON CONFLICT (event_id) DO NOTHING RETURNING event_id")
    return {row[0] for row in cur.fetchall()}


def _insert_events(cur: psycopg2.extensions.cursor,
                   applied: Sequence[Accepted]) -> dict[str, str]:
    """Store each event's row; returns event ids refused for a taken session or view id."""
    by_table: dict[str, list[Row]] = {}
    for a in applied:
        table, row = rows.table_row(a.event, a.record.value)
        by_table.setdefault(table, []).append(row)
    for table in _DIRECT_TABLES:
        _copy(cur, table, rows.COLUMNS[table], by_table.get(table, ()))
    conflicts: dict[str, str] = {}
    for table, key, sql in ((
            "user_sessions", "session_id", _INSERT_SESSIONS), ("page_views", "pageview_id",
                                                               _INSERT_PAGE_VIEWS)):
        staged = by_table.get(table, [])
        if staged:
            _copy(cur, f"tmp_{table}", rows.COLUMNS[table], staged)
            cur.execute(sql)
            stored = {r[0] for r in cur.fetchall()}
            event_at = rows.COLUMNS[table].index("event_id")
            conflicts.update({str(r[event_at]): f"{key} already stored by another event"
                              for r in staged if r[event_at] not in stored})
    return conflicts


_INSERT_SESSIONS = """
INSERT INTO user_sessions (session_id, event_id, user_id, started_at, device_type, browser, raw,
                           duration_seconds, clicks_count, ended_at)
SELECT t.session_id, t.event_id, t.user_id, t.started_at, t.device_type, t.browser, t.raw,
       (e.raw->>'duration_seconds')::int, (e.raw->>'clicks_count')::int, e.ts
FROM tmp_user_sessions t
LEFT JOIN LATERAL (SELECT s.raw, s.ts FROM state_events s
                   WHERE s.type = 'session_end' AND s.session_id = t.session_id
                   ORDER BY s.id DESC LIMIT 1) e ON true
ON CONFLICT (session_id) DO NOTHING RETURNING event_id"""

_INSERT_PAGE_VIEWS = """
INSERT INTO page_views (event_id, pageview_id, session_id, user_id, path, viewed_at, load_time_ms,
                        raw, time_on_page_seconds, scroll_depth_percent)
SELECT t.event_id, t.pageview_id, t.session_id, t.user_id, t.path, t.viewed_at, t.load_time_ms,
       t.raw, (l.raw->>'time_on_page_seconds')::int, (l.raw->>'scroll_depth_percent')::int
FROM tmp_page_views t
LEFT JOIN LATERAL (SELECT s.raw FROM state_events s
                   WHERE s.type = 'page_leave' AND s.pageview_id = t.pageview_id
                   ORDER BY s.id DESC LIMIT 1) l ON true
ON CONFLICT DO NOTHING RETURNING event_id"""

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


def _apply_state(cur: psycopg2.extensions.cursor, events: Sequence[Event]) -> None:
    """Users, session ends and page leaves: the rows the batch's state events change.

    A session or view inserted in this batch already took its end or leave from
    ``state_events`` on insert; only rows of earlier batches are updated here.
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
    ends = [end for end in rows.session_ends(events) if end[0] not in started]
    if ends:
        _copy(cur, "tmp_session_ends", ("session_id", "duration_seconds", "clicks_count",
                                        "ended_at"), ends)
        cur.execute("UPDATE user_sessions u SET duration_seconds = t.duration_seconds,"
                    " clicks_count = t.clicks_count, ended_at = t.ended_at"
                    " FROM tmp_session_ends t WHERE u.session_id = t.session_id")
    viewed = {e.pageview_id for e in events if isinstance(e, PageView)}
    leaves = [leave for leave in rows.page_leaves(events) if leave[0] not in viewed]
    if leaves:
        _copy(cur, "tmp_page_leaves", ("pageview_id", "time_on_page_seconds",
                                       "scroll_depth_percent"), leaves)
        cur.execute("UPDATE page_views v SET time_on_page_seconds = t.time_on_page_seconds,"
                    " scroll_depth_percent = t.scroll_depth_percent"
                    " FROM tmp_page_leaves t WHERE v.pageview_id = t.pageview_id")


def _insert_rejected(cur: psycopg2.extensions.cursor, rejected: Sequence[Rejected]) -> None:
    if rejected:
        _copy(cur, "tmp_rejected", ("topic", "partition", "offset", "key", "value", "reason",
                                    "detail"),
              [(r.record.topic, r.record.partition, r.record.offset, r.record.key,
                r.record.value or b"", r.reason, r.detail) for r in rejected])
        cur.execute('INSERT INTO rejected_events (topic, "partition", "offset", key, value,'
                    " reason, detail) SELECT * FROM tmp_rejected"
                    ' ON CONFLICT (topic, "partition", "offset") DO NOTHING')


def _save_offsets(cur: psycopg2.extensions.cursor, offsets: dict[Partition, int]) -> None:
    if offsets:
        psycopg2.extras.execute_values(
            cur, 'INSERT INTO sink_offsets (sink, topic, "partition", next_offset) VALUES %s'
            ' ON CONFLICT (sink, topic, "partition") DO UPDATE SET next_offset ='
            " GREATEST(sink_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()",
            [(SINK, t, p, o) for (t, p), o in sorted(offsets.items())])
