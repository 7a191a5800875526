"""The durable write: a batch's rows, state changes, dead letters and offsets in one
PostgreSQL transaction, and its answer of what it committed for the projection.

Exactly once comes from two guards inside that transaction (which also adds the
applied events to the users' day counters, ``consumers.daycounts``):

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

Before its transaction, the write makes sure the months its events fall in have
their partitions (``insights.record.partitions``). Inside it, it reads the
retention's first day kept (``retention_cutoff``, shared with every retention run
and locked for share, so a run raising it waits for the batches in flight) and
dead-letters older events as ``expired``: their month is gone or going.

The answer (``WriteResult``, ``Committed`` for the projection) names the records
whose events PostgreSQL counted: those applied now and, on a replay, those
below the stored offset that an earlier run counted (one look-up in the ledger,
only when a batch holds such records).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, time
from functools import partial

import psycopg2
import psycopg2.errors
import psycopg2.extras

from consumers import rows
from consumers.batch import Accepted, Item, Rejected, next_offsets, unprocessable
from consumers.daycounts import add_day_counts
from consumers.offsets import DURABLE
from consumers.protocol import SinkUnavailable, WriteResult, isolate
from consumers.rows import Row
from consumers.tables import (
    Cursor,
    apply_state,
    claim_views,
    copy_rows,
    insert_events,
    insert_rejected,
)
from insights.database import Connection, array_literal, connect, refused_data
from insights.events.contract import PageView, SessionStart, event_type
from insights.events.kafka import Partition
from insights.record.partitions import Months

log = logging.getLogger(__name__)
SINK = DURABLE
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


class PostgresWrite:
    """Write-through of batches into the event tables; see the module docstring."""

    name = SINK

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Connection | None = None
        self._months = Months()

    def write(self, items: Sequence[Item], now: datetime) -> WriteResult:
        """Apply a batch exactly once; a record PostgreSQL refuses, or whose rows cannot be
        built, is isolated and dead-lettered (``consumers.protocol.isolate``). ``now`` is the
        batch's time (the items were judged by it, and the months made ready are those
        around it; stored times are the server's)."""
        return isolate(items, partial(self._attempt, now), partial(self._reject, now))

    def _attempt(self, now: datetime, items: Sequence[Item]) -> WriteResult:
        """One transaction; an outage raises ``SinkUnavailable``, anything else rolls back
        and raises for ``isolate`` to split the batch."""
        try:
            return self._transaction(items, now)
        except psycopg2.Error as exc:
            self._rollback()
            if not refused_data(exc):
                raise self._unavailable(exc) from exc
            raise
        except Exception:
            self._rollback()
            raise

    def _reject(self, now: datetime, item: Item, exc: Exception) -> WriteResult:
        if isinstance(exc, psycopg2.Error):
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            rejected = Rejected(item.record, "unstorable", detail)
        else:
            rejected = unprocessable(item.record, exc)
        return self._attempt(now, [rejected])

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

    def _transaction(self, items: Sequence[Item], now: datetime) -> WriteResult:
        conn = self._connection()
        try:
            self._months.ensure(conn, now, [i.event.ts for i in items
                                            if isinstance(i, Accepted)])
        except psycopg2.Error as exc:    # never the batch's data: retried as an outage
            self._rollback()
            raise self._unavailable(exc) from exc
        with conn.cursor() as cur:
            result = self._apply(cur, items)
        conn.commit()
        return result

    def _apply(self, cur: Cursor, items: Sequence[Item]) -> WriteResult:
        stored = _lock_offsets(cur, sorted(next_offsets(items)))
        fresh = expire([i for i in items
                        if i.record.offset >= stored[(i.record.topic, i.record.partition)]],
                       _first_day_kept(cur))
        accepted, seen = [], set()
        for item in fresh:
            if isinstance(item, Accepted) and item.event.event_id not in seen:
                seen.add(item.event.event_id)
                accepted.append(item)
        new = _insert_ledger(cur, accepted)
        conflicts = _conflicts(cur, new)
        applied = [a for a in new if a.event.event_id not in conflicts]
        insert_events(cur, applied)
        claim_views(cur, [a.event for a in applied])
        apply_state(cur, [a.event for a in applied])
        add_day_counts(cur, [a.event for a in applied])
        rejected = [i for i in fresh if isinstance(i, Rejected)]
        rejected += [Rejected(a.record, "conflict", conflicts[a.event.event_id])
                     for a in new if a.event.event_id in conflicts]
        insert_rejected(cur, rejected)
        _save_offsets(cur, next_offsets(fresh))
        duplicates = sum(isinstance(i, Accepted) for i in fresh) - len(new)
        replayed = _counted_before(cur, [i for i in items if isinstance(i, Accepted)
                                         and i.record.offset < stored[(i.record.topic,
                                                                       i.record.partition)]])
        return WriteResult(applied, duplicates, len(items) - len(fresh), rejected, replayed)


# A record an earlier run counted: the ledger holds its id at its position, and it was not
# dead-lettered as a conflict (those take their id in the ledger but are not applied).
_COUNTED_BEFORE = """
SELECT l.topic, l."partition", l."offset" FROM event_ledger l
WHERE l.event_id = ANY(%s::text[]) AND NOT EXISTS (
    SELECT 1 FROM rejected_events r WHERE r.topic = l.topic AND r."partition" = l."partition"
    AND r."offset" = l."offset" AND r.reason = 'conflict')"""


def _counted_before(cur: Cursor, skipped: Sequence[Accepted]) -> list[Accepted]:
    """Which of the records below the stored offsets (a replay) an earlier run counted."""
    if not skipped:
        return []
    cur.execute(_COUNTED_BEFORE, (array_literal(a.event.event_id for a in skipped),))
    counted = {(t, p, o) for t, p, o in cur.fetchall()}
    return [a for a in skipped
            if (a.record.topic, a.record.partition, a.record.offset) in counted]


def _insert_ledger(cur: Cursor, accepted: Sequence[Accepted]) -> list[Accepted]:
    """Record the batch's event ids; returns the events whose id is new.

    Duplicates are rare, so the ids are copied straight away under a savepoint;
    only when that hits a stored id are the stored ones looked up and left out.
    """
    cur.execute("SAVEPOINT ledger")
    try:
        copy_rows(cur, "event_ledger", rows.LEDGER_COLUMNS, _ledger_rows(accepted))
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT ledger")
        known = _existing(cur, "event_ledger", "event_id", [a.event.event_id for a in accepted])
        accepted = [a for a in accepted if a.event.event_id not in known]
        copy_rows(cur, "event_ledger", rows.LEDGER_COLUMNS, _ledger_rows(accepted))
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
    # pageview_ids holds every stored view's id (``claim_views``): page_views is
    # partitioned by month and cannot keep it unique itself.
    for kind, table, column in ((SessionStart, "user_sessions", "session_id"),
                                (PageView, "pageview_ids", "pageview_id")):
        events = [a.event for a in new if isinstance(a.event, kind)]
        taken = _existing(cur, table, column, [getattr(e, column) for e in events])
        for event in events:
            key = getattr(event, column)
            if key in taken:
                refused[event.event_id] = f"{column} {key!r} is already stored by another event"
            taken.add(key)
    return refused


def _first_day_kept(cur: Cursor) -> datetime | None:
    """The retention's first day kept, locked for share until the batch commits (a
    retention run raising it waits for this batch)."""
    cur.execute("SELECT first_day FROM retention_cutoff FOR SHARE")
    row = cur.fetchone()
    return None if row is None or row[0] is None else datetime.combine(row[0], time(), UTC)


def expire(items: Sequence[Item], first: datetime | None) -> list[Item]:
    """``items`` with every event from before ``first`` (the first day kept) refused."""
    if first is None:
        return list(items)
    return [Rejected(i.record, "expired", f"ts {i.event.ts.isoformat()} is before "
                     f"{first.date().isoformat()}, the first day the retention keeps")
            if isinstance(i, Accepted) and i.event.ts < first else i for i in items]


def _save_offsets(cur: Cursor, offsets: dict[Partition, int]) -> None:
    if offsets:
        psycopg2.extras.execute_values(
            cur, 'INSERT INTO sink_offsets (sink, topic, "partition", next_offset) VALUES %s'
            ' ON CONFLICT (sink, topic, "partition") DO UPDATE SET next_offset ='
            " GREATEST(sink_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()",
            [(SINK, t, p, o) for (t, p), o in sorted(offsets.items())])
