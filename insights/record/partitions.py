"""The event tables' monthly partitions (``insights/migrations/008_monthly_partitions.sql``).

A partitioned event table has one partition per month of event time (UTC), named
``TABLE_yYYYYmMM``, and a default partition (``TABLE_default``) for rows of months
without one. The consumer's durable write creates the months a batch needs before
it writes (``Months.ensure``), so its rows land in their month's partition, and
next month's ahead of time. Only months of the last ``HORIZON_MONTHS`` get one:
older history (an import, or a producer's odd timestamps) goes to the default
partition, so no sender can make a table per month since 1970.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg2

from insights.database import Connection

log = logging.getLogger(__name__)
#: Months back (from the current one) that get partitions of their own.
HORIZON_MONTHS = 36

#: The partitioned event tables and the column each is partitioned on.
PARTITIONED = {
    "page_views": "viewed_at", "js_errors": "occurred_at", "security_alerts": "created_at",
    "email_logs": "created_at", "search_queries": "searched_at",
    "conversion_events": "converted_at", "state_events": "ts",
}

_LISTING = """
SELECT parent.relname, child.relname, pg_get_expr(child.relpartbound, child.oid)
FROM pg_inherits i
JOIN pg_class parent ON parent.oid = i.inhparent
JOIN pg_class child ON child.oid = i.inhrelid
WHERE parent.relname = ANY(%s) AND parent.relnamespace = current_schema()::regnamespace
ORDER BY 1, 2"""


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s month, in UTC."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def month_of_day(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def first_day_kept(conn: Connection) -> date | None:
    """The first day the consumers keep, as the last retention run stored it (None: no
    run yet); ends the read's transaction."""
    with conn.cursor() as cur:
        cur.execute("SELECT first_day FROM retention_cutoff")
        row = cur.fetchone()
    conn.commit()
    return None if row is None else row[0]


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after (``n`` < 0: before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Partition:
    """One month's partition of an event table."""

    table: str
    name: str
    month: date


def listing(conn: Connection) -> list[Partition]:
    """Every monthly partition of the event tables, as ``event_month_partitions`` names
    them (default partitions, and any made by hand under another name, left out)."""
    with conn.cursor() as cur:
        cur.execute(_LISTING, (list(PARTITIONED),))
        rows = cur.fetchall()
    found = []
    for table, name, _ in rows:
        named = _NAME.fullmatch(name)
        if named is not None and named["table"] == table and 1 <= int(named["m"]) <= 12:
            found.append(Partition(table, name, date(int(named["y"]), int(named["m"]), 1)))
    return found


_NAME = re.compile(r"(?P<table>\w+)_y(?P<y>[0-9]{4})m(?P<m>[0-9]{2})")


class Months:
    """The months whose partitions exist, as far as this process made sure of them."""

    def __init__(self) -> None:
        self._ready: set[date] = set()

    def ensure(self, conn: Connection, now: datetime, moments: Iterable[datetime]) -> int:
        """Create the partitions of the months of ``moments`` within the horizon that are
        missing, each month in a short transaction of its own (committed: call it outside
        the batch's transaction), then next month's. Returns how many were created.
        Next month's failing (say, a lock not granted in time) is only logged."""
        this = month_of(now)
        oldest = add_months(this, -HORIZON_MONTHS)
        wanted = {m for m in map(month_of, moments) if oldest <= m <= add_months(this, 1)}
        wanted -= self._ready
        if wanted:          # not before the retention's first day kept: those are refused
            first = first_day_kept(conn)
            wanted = {m for m in wanted if first is None or m >= month_of_day(first)}
        created = sum(self._make(conn, month) for month in sorted(wanted))
        ahead = add_months(this, 1)
        if ahead not in self._ready:
            try:
                created += self._make(conn, ahead)
            except psycopg2.Error as exc:
                conn.rollback()
                log.warning("next month's partitions not made yet: %s", str(exc).strip())
        return created

    def _make(self, conn: Connection, month: date) -> int:
        with conn.cursor() as cur:
            cur.execute("SELECT event_month_partitions(%s)", (month,))
            created = int(cur.fetchone()[0])  # type: ignore[index]
        conn.commit()
        self._ready.add(month)
        return created
