"""``insights retention``: drop the event tables' months older than the retention now.

The consumer applies it every hour by itself when ``INSIGHTS_RETENTION_MONTHS`` is set;
this command applies it at once (or, ``--dry-run``, says what a run would drop), and
prints each month dropped with its rows and the rows kept because a profile shows them.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from insights import database, endpoints, logs
from insights.record import retention
from insights.settings import Settings

console = Console(stderr=True)


def run(months: int | None, dry_run: bool) -> None:
    """See the module docstring; exit 2 when no retention is set or it is too short, 1
    when a month could not be dropped yet."""
    settings = Settings()
    logs.configure(settings.log_level)
    months = months or settings.retention_months
    if months is None:
        console.print("no retention set: pass --months N or set INSIGHTS_RETENTION_MONTHS")
        raise typer.Exit(2)
    try:
        retention.check(months)
    except retention.RetentionRefused as exc:
        console.print(str(exc))
        raise typer.Exit(2) from exc
    urls = endpoints.resolve(settings)
    database.upgrade(urls.postgres_url)
    with closing(database.connect(urls.postgres_url)) as conn, \
            console.status("retention") as status:
        report = retention.run(conn, datetime.now(UTC), months, dry_run=dry_run,
                               progress=status.update)
    if report is None:
        console.print("another retention run holds the lock; nothing done")
        raise typer.Exit(1)
    _print(report, dry_run)
    if report.skipped:
        raise typer.Exit(1)


def _print(report: retention.Report, dry_run: bool) -> None:
    verb = "would drop" if dry_run else "dropped"
    console.print(f"first day kept: {report.cutoff.isoformat()}")
    table = Table("partition", "rows", "kept for profiles", title=f"months {verb}")
    for dropped in report.dropped:
        table.add_row(dropped.partition.name, f"{dropped.rows:,}", f"{dropped.kept:,}")
    if report.dropped:
        console.print(table)
    elif not report.skipped:
        console.print("no month is older than the retention")
    for skipped in report.skipped:
        console.print(f"{skipped.partition.name} is in use (a long read or a backfill holds "
                      "it): run again later; the consumers' hourly run will")
    console.print(f"{verb}: {report.trimmed:,} rows of the default partitions, "
                  f"{report.ledger:,} ledger ids, {report.claims:,} page view ids, "
                  f"{report.day_counts:,} user day counters")
