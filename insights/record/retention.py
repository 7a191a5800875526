"""Retention: the event tables' months older than ``INSIGHTS_RETENTION_MONTHS`` go.

With a retention of N months the cutoff is the first day of the month N months
before the current one (UTC). A run (``run``):

1. drops every monthly partition wholly before the cutoff, keeping the rows a
   profile still shows (``insights.record.kept``): they move to the table's default
   partition in the same transaction, so no reader ever misses them;
2. trims the default partitions of rows before the cutoff that nothing shows;
3. deletes, in chunks, the ledger's ids, the page views' claims and the users' day
   counters before the cutoff.

The consumer refuses events from before the cutoff (dead letter ``expired``), so a
dropped month never fills again and an id whose ledger row is gone cannot be counted
twice. ``user_sessions`` and ``users`` are never trimmed: profiles read every session.
A retention shorter than what anything reads back (``READ_BACK_DAYS``) is refused.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from insights.database import Connection
from insights.record.kept import needed
from insights.record.partitions import PARTITIONED, Partition, add_months, listing, month_of

log = logging.getLogger(__name__)

#: The longest span, in days, anything reads back from the event tables: the alert
#: backtest's 92 days (the read model's windows keep 62).
READ_BACK_DAYS = 92
#: The shortest retention, in months: N months always span at least 28 * N days.
MIN_MONTHS = math.ceil(READ_BACK_DAYS / 28)
CHUNK = 10_000          # rows deleted per transaction from the unpartitioned tables
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
    for part in [p for p in listing(conn) if p.month < edge]:
        tell(f"{'counting' if dry_run else 'dropping'} {part.name}")
        report.dropped.append(_drop(conn, part, dry_run))
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


def _drop(conn: Connection, part: Partition, dry_run: bool) -> Dropped:
    """Detach and drop one month, its kept rows moved to the default partition first."""
    table, col = part.table, PARTITIONED[part.table]
    kept_sql = needed(table, col, part.name)
    with conn.cursor() as cur:
        if not dry_run:     # writers wait (there should be none: those rows are expired)
            cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cur.execute(f"SELECT count(*) FROM {part.name}")
        rows = int(cur.fetchone()[0])  # type: ignore[index]
        shown = "FALSE" if kept_sql is None else f"event_id IN ({kept_sql})"
        cur.execute(f"CREATE TEMP TABLE retention_kept ON COMMIT DROP AS"
                    f" SELECT * FROM {part.name} WHERE {shown}")
        kept = cur.rowcount
        if not dry_run:
            cur.execute(f"ALTER TABLE {table} DETACH PARTITION {part.name}")
            if table == "page_views":     # the claims go with the rows, and come back
                cur.execute("DELETE FROM pageview_ids WHERE pageview_id IN"
                            " (SELECT pageview_id FROM retention_kept)")
            cur.execute(f"INSERT INTO {table} SELECT * FROM retention_kept")
            cur.execute(f"DROP TABLE {part.name}")
    if dry_run:
        conn.rollback()
    else:
        conn.commit()
        log.info("retention dropped %s (%d rows, %d kept for profiles)", part.name, rows, kept)
    return Dropped(part, rows, kept)


def _trim_default(conn: Connection, table: str, start: datetime, dry_run: bool) -> int:
    """Delete the default partition's rows before ``start`` that nothing shows."""
    col, source = PARTITIONED[table], f"{table}_default"
    kept_sql = needed(table, col, source)
    keep = "" if kept_sql is None else f" AND event_id NOT IN ({kept_sql})"
    verb = "SELECT count(*) FROM" if dry_run else "DELETE FROM"
    with conn.cursor() as cur:
        cur.execute(f"{verb} {source} WHERE {col} < %s{keep}", (start,))
        n = int(cur.fetchone()[0]) if dry_run else cur.rowcount  # type: ignore[index]
    conn.commit()
    return n


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
