"""Retention: the event tables' months older than ``INSIGHTS_RETENTION_MONTHS`` go.

With a retention of N months the cutoff is the first day of the month N months
before the current one (UTC). A run (``run``):

1. raises the first day kept that every consumer checks (``retention_cutoff``; it
   waits for the batches in flight), so from then on events before it are refused
   (dead letter ``expired``): a dropped month never fills again, and an id whose
   ledger row is gone cannot be counted twice;
2. drops every monthly partition wholly before the cutoff, keeping the rows a
   profile still shows (``insights.record.kept``): which they are is worked out
   first, without locks; then one short transaction detaches the month, copies
   those rows to the table's default partition and drops it, so no reader ever
   misses them. It takes its locks with a short timeout and tries again rather
   than queue the consumers' writes behind it;
3. trims the default partitions of rows before the cutoff that nothing shows;
4. deletes, in chunks, the ledger's ids, the page views' claims and the users' day
   counters before the cutoff.

``user_sessions`` and ``users`` are never trimmed: profiles read every session. A
retention shorter than what anything reads back (``READ_BACK_DAYS``) is refused.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from time import sleep

import psycopg2.errors

from insights.database import Connection
from insights.record.kept import needed
from insights.record.partitions import (
    PARTITIONED,
    Partition,
    add_months,
    listing,
    month_of,
)

log = logging.getLogger(__name__)

#: The longest span, in days, anything reads back from the event tables: the alert
#: backtest's 92 days (the read model's windows keep 62).
READ_BACK_DAYS = 92
#: The shortest retention, in months: N months always span at least 28 * N days.
MIN_MONTHS = math.ceil(READ_BACK_DAYS / 28)
CHUNK = 10_000          # rows deleted per transaction from the unpartitioned tables
LOCK_WAIT_MS = 500      # a month's detach waits this long for its locks (under deadlock_timeout)
ATTEMPTS = 10           # then tries again, this many times in all, backing off up to 2 s
_LOCK_ID = 0x5E7E_4710  # advisory lock: one retention run at a time


class RetentionRefused(ValueError):
    """A retention shorter than the event tables are read back."""


def check(months: int) -> None:
    """Refuse a retention of ``months`` that would drop rows still read."""
    if months < MIN_MONTHS:
        raise RetentionRefused(
            f"a retention of {months} month(s) is too short: the dashboard and the alert "
            f"backtest read up to {READ_BACK_DAYS} days back, so keep at least "
            f"{MIN_MONTHS} months (INSIGHTS_RETENTION_MONTHS)")


def cutoff(now: datetime, months: int) -> date:
    """The first day kept: the start of the month ``months`` months before ``now``'s."""
    return add_months(month_of(now), -months)


def cutoff_time(now: datetime, months: int) -> datetime:
    """``cutoff`` as the instant it starts (UTC midnight)."""
    return datetime.combine(cutoff(now, months), time(), UTC)


@dataclass
class Dropped:
    """One month of one table: its rows, and how many a profile still shows (kept)."""

    partition: Partition
    rows: int
    kept: int


@dataclass
class Report:
    """What a run did (or, dry, would do)."""

    cutoff: date
    dropped: list[Dropped] = field(default_factory=list)
    skipped: list[Dropped] = field(default_factory=list)   # locked: at the next run
    trimmed: int = 0            # rows deleted from the default partitions
    ledger: int = 0
    claims: int = 0
    day_counts: int = 0


Progress = Callable[[str], None]


def run(conn: Connection, now: datetime, months: int, *, dry_run: bool = False,
        progress: Progress | None = None) -> Report | None:
    """Apply a retention of ``months`` at ``now``; None when another run holds the lock."""
    check(months)
    edge = cutoff(now, months)
    tell = progress or (lambda _: None)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_ID,))
        locked = bool(cur.fetchone()[0])  # type: ignore[index]
    conn.commit()
    if not locked:
        return None
    try:
        return _run(conn, edge, dry_run, tell)
    finally:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
        conn.commit()


def _run(conn: Connection, edge: date, dry_run: bool, tell: Progress) -> Report:
    report = Report(edge)
    if not dry_run:
        tell("raising the first day kept")
        _raise_cutoff(conn, edge)
    busy: set[str] = set()      # tables found locked: their other months wait too
    for part in [p for p in listing(conn) if p.month < edge]:
        tell(f"{'counting' if dry_run else 'dropping'} {part.name}")
        dropped = None if part.table in busy else _drop(conn, part, dry_run)
        if dropped is None:
            busy.add(part.table)
            report.skipped.append(Dropped(part, 0, 0))
        else:
            report.dropped.append(dropped)
    start = datetime.combine(edge, time(), UTC)
    tell("trimming the default partitions")
    report.trimmed = sum(_trim_default(conn, table, start, dry_run) for table in PARTITIONED)
    tell("trimming the ledger")
    report.ledger = _chunked(conn, "event_ledger", "ts < %s", start, dry_run)
    report.claims = _chunked(conn, "pageview_ids", "viewed_at < %s AND NOT EXISTS (SELECT 1"
                             " FROM page_views_default v WHERE v.pageview_id = t.pageview_id)",
                             start, dry_run)
    report.day_counts = _chunked(conn, "user_day_counts",
                                 "day < (%s::date - DATE '1970-01-01')", edge, dry_run)
    return report


def _raise_cutoff(conn: Connection, edge: date) -> None:
    """Make ``edge`` the first day every consumer keeps (it is never lowered)."""
    with conn.cursor() as cur:
        # The table lock queues the batches that come after it (a row lock alone could
        # wait forever behind consumers whose batches overlap, each locking it for share).
        cur.execute("LOCK TABLE retention_cutoff IN EXCLUSIVE MODE")
        cur.execute("UPDATE retention_cutoff SET first_day = GREATEST(first_day, %s)", (edge,))
    conn.commit()


def _drop(conn: Connection, part: Partition, dry_run: bool) -> Dropped | None:
    """Detach and drop one month, its rows still shown copied to the default partition
    in the same transaction; None when its locks were not granted (the next run)."""
    table = part.table
    kept_sql = needed(table, PARTITIONED[table], part.name)
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {part.name}")
        rows = int(cur.fetchone()[0])  # type: ignore[index]
        # Their ids only: a row may still change (a late page leave) until detached.
        cur.execute("CREATE TEMP TABLE retention_kept (event_id text PRIMARY KEY)")
        if kept_sql is not None:
            cur.execute(f"INSERT INTO retention_kept {kept_sql}")
        kept = cur.rowcount if kept_sql is not None else 0
    conn.commit()
    try:
        if dry_run or _detach(conn, part):
            return Dropped(part, rows, kept)
        log.warning("retention: %s is in use; it goes at the next run", part.name)
        return None
    finally:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("DROP TABLE retention_kept")
        conn.commit()


def _detach(conn: Connection, part: Partition) -> bool:
    """The month's short transaction, tried ``ATTEMPTS`` times; False when every try
    found the table locked (a backfill's snapshot, a long read)."""
    for attempt in range(ATTEMPTS):
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")
                cur.execute(f"ALTER TABLE {part.table} DETACH PARTITION {part.name}")
                cur.execute(f"INSERT INTO {part.table} SELECT p.* FROM {part.name} p"
                            " JOIN retention_kept k USING (event_id)")
                cur.execute(f"DROP TABLE {part.name}")
            conn.commit()
            log.info("retention dropped %s", part.name)
            return True
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected):
            conn.rollback()
            sleep(min(0.1 * 2 ** attempt, 2.0))
    return False


def _trim_default(conn: Connection, table: str, start: datetime, dry_run: bool) -> int:
    """Delete the default partition's rows before ``start`` that nothing shows."""
    col, source = PARTITIONED[table], f"{table}_default"
    kept_sql = needed(table, col, source)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE retention_shown (event_id text PRIMARY KEY)")
        if kept_sql is not None:
            cur.execute(f"INSERT INTO retention_shown {kept_sql}")
    conn.commit()
    try:
        return _chunked(conn, source, f"{col} < %s AND NOT EXISTS (SELECT 1 FROM "
                        "retention_shown s WHERE s.event_id = t.event_id)", start, dry_run)
    finally:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("DROP TABLE retention_shown")
        conn.commit()


def _chunked(conn: Connection, table: str, where: str, arg: object, dry_run: bool) -> int:
    """Delete ``table``'s rows matching ``where`` (over alias ``t``), ``CHUNK`` per
    transaction so no lock or WAL burst grows with the table; returns how many."""
    with conn.cursor() as cur:
        if dry_run:
            cur.execute(f"SELECT count(*) FROM {table} t WHERE {where}", (arg,))
            n = int(cur.fetchone()[0])  # type: ignore[index]
            conn.rollback()
            return n
        total = 0
        while True:
            cur.execute(f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
                        f"SELECT t.ctid FROM {table} t WHERE {where} LIMIT {CHUNK}))", (arg,))
            conn.commit()
            total += cur.rowcount
            if cur.rowcount < CHUNK:
                return total
