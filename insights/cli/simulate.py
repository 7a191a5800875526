"""The ``insights simulate`` command (the lead mounts ``simulate`` on the main Typer app)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from insights import logs
from insights.endpoints import resolve
from insights.events import kafka
from insights.settings import Settings
from insights.simulator.runner import KafkaSink, run

log = logging.getLogger(__name__)


def simulate(
    *,
    users: Annotated[int, typer.Option(min=1, help="simulated registered users")] = 200,
    rate: Annotated[float | None, typer.Option(
        min=0.01, help="a flat live load in events/s (load tests); default: the users' own"
        " daily rhythm, as in the history")] = None,
    duration: Annotated[float, typer.Option(
        min=0, help="seconds of live traffic; 0 = until Ctrl-C")] = 60.0,
    seed: Annotated[int | None, typer.Option(
        help="random seed (same seed and start time = same events); default: random")] = None,
    backfill_days: Annotated[int, typer.Option(
        min=0, max=400, help="first send this many days of history (unpaced)")] = 0,
    bad_ratio: Annotated[float, typer.Option(
        min=0.0, max=0.9, help="share of deliberately broken messages (dead-letter demo)")] = 0.0,
) -> None:
    """Send realistic site traffic (sessions, page views, log-ins, errors, ...) to Kafka."""
    settings = Settings()
    logs.configure(settings.log_level)
    urls = resolve(settings)
    kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), settings.partitions)
    with KafkaSink(urls.kafka_bootstrap, settings.topics()) as sink:
        counts = run(sink, users=users, rate=rate, duration=duration, seed=seed,
                     backfill_days=backfill_days, bad_ratio=bad_ratio)
    table = Table("type", "sent", title="messages sent")
    for type_, n in sorted(counts.items()):
        table.add_row(type_, f"{n:,}")
    table.add_row("total", f"{sum(counts.values()):,}", style="bold")
    Console(stderr=True).print(table)
