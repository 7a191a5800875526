"""The event tables' monthly partitions (``sql/008_monthly_partitions.sql``).

A partitioned event table has one partition per month of event time (UTC), named
``TABLE_yYYYYmMM``, and a default partition (``TABLE_default``) for rows of months
without one. The consumer's durable write creates the months a batch needs before
it writes (``Months.ensure``), so its rows land in their month's partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from insights.database import Connection

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
    """Every monthly partition of the event tables (default partitions left out)."""
    with conn.cursor() as cur:
        cur.execute(_LISTING, (list(PARTITIONED),))
        rows = cur.fetchall()
    return [Partition(table, name, _month(name)) for table, name, bound in rows
            if bound != "DEFAULT"]


def _month(name: str) -> date:
    """``TABLE_y2026m12`` -> 2026-12-01."""
    stamp = name.rsplit("_y", 1)[1]
    year, month = stamp.split("m")
    return date(int(year), int(month), 1)


class Months:
    """The months whose partitions exist, as far as this process made sure of them."""

    def __init__(self) -> None:
        self._ready: set[date] = set()

    def ensure(self, conn: Connection, moments: Iterable[datetime]) -> int:
        """Create the partitions of the months of ``moments`` that are missing, each
        month in a short transaction of its own (committed; call it outside the batch's
        transaction). Returns how many partitions were created."""
        created = 0
        for month in sorted({month_of(m) for m in moments} - self._ready):
            with conn.cursor() as cur:
                cur.execute("SELECT event_month_partitions(%s)", (month,))
                created += int(cur.fetchone()[0])  # type: ignore[index]
            conn.commit()
            self._ready.add(month)
        return created

    def forget(self) -> None:
        """Check again from scratch (after retention dropped months, or a new connection)."""
        self._ready.clear()
