"""``insights backfill``: the Redis read model rebuilt from PostgreSQL while consumers run.

Builds a new generation beside the one in use and switches readers and consumers
to it when it is complete (``consumers.backfill``), with a progress bar (events,
rate, time left) and a summary. Killed midway, the next run continues the build.
"""

from __future__ import annotations

import time
from contextlib import closing
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)

from consumers import backfill, collector
from consumers.lease import LOCK_S, RebuildBusy
from consumers.projection import RedisProjection
from insights import database, endpoints, logs
from insights.cli.signals import stop_on_signals
from insights.machine import usable_cpus
from insights.readmodel.generation import current
from insights.readmodel.keys import Keys
from insights.settings import Settings

console = Console(stderr=True)
_COLUMNS = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} events"),
            TextColumn("{task.fields[rate]:,.0f}/s"), TimeRemainingColumn())


def run(workers: int | None = None) -> None:
    """Rebuild (see the module docstring) with ``workers`` replaying processes (None: one
    per core this process may use, ``insights.machine``); exit 1 when another rebuild
    holds the lock."""
    settings = Settings()
    logs.configure(settings.log_level)
    urls = endpoints.resolve(settings)
    database.upgrade(urls.postgres_url)
    stop_on_signals()                # Ctrl-C ends a replayer's sums at once, not after them
    now, started = datetime.now(UTC), time.monotonic()
    sink = RedisProjection(urls.redis_url, urls.postgres_url, settings.redis_prefix,
                           settings.sections)
    try:
        with closing(database.connect(urls.postgres_url)) as conn, \
                Progress(*_COLUMNS, console=console) as bar:
            keys = Keys(settings.redis_prefix)
            total, before = backfill.count(conn, now, backfill.replayed_before(sink.client(),
                                                                               keys))
            if before:
                console.print(f"continuing the interrupted backfill: {before:,} of {total:,} "
                              "events were replayed before")
            # PostgreSQL sums each replayer's share before its first chunk comes back
            # (consumers.stored): 2 to 3 s per million events, with nothing to count yet.
            task = bar.add_task("summing stored events in PostgreSQL", total=total,
                                completed=before, rate=0.0)

            def advance(done: int) -> None:
                state = bar.tasks[task]
                rate = (state.completed - before + done) / max(time.monotonic() - started,
                                                               1e-3)
                bar.update(task, advance=done, rate=rate,
                           description="replaying stored events" if done else None)

            if sink.client().exists(keys.rebuild_lock):
                console.print("another rebuild holds the lock: waiting for it (a killed "
                              f"one's expires within {LOCK_S} s)")
            collector.tune()          # a replay is batch work: see consumers.collector
            replayed = backfill.rebuild(sink, conn, now, advance, wait_s=LOCK_S + 5,
                                        clock=lambda: datetime.now(UTC),
                                        workers=workers or usable_cpus())
        used = current(sink.client(), Keys(settings.redis_prefix))
    except RebuildBusy as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("interrupted: the generation being built is kept (the consumers keep "
                      "writing it); run 'insights backfill' again to continue it")
        raise typer.Exit(130) from None
    finally:
        sink.close()
    took = time.monotonic() - started
    console.print(f"rebuilt Redis under {settings.redis_prefix!r} from {replayed:,} events in "
                  f"{took:.1f} s ({replayed / max(took, 1e-3):,.0f} events/s); generation "
                  f"{used.generation_id if used else '?'} is in use")
