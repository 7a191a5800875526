"""The ``insights`` command: stack, db, topics, consume, simulate, import, demo, serve,
token, user, alerts, hooks, audit, retention, backfill, health."""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from insights import database, endpoints, logs
from insights.cli.alerts import alerts_app, hooks_app
from insights.cli.demo import demo
from insights.cli.health import health_app
from insights.cli.imports import import_events
from insights.cli.simulate import simulate
from insights.cli.stack import app as stack_app
from insights.cli.web import serve, token_app, user_app
from insights.events import kafka
from insights.settings import Settings
from insights.stack import StackError, StackUrls

if TYPE_CHECKING:
    from consumers.lag import LagReport
    from insights.record.schedule import RetentionSchedule

log = logging.getLogger(__name__)
console = Console(stderr=True)

app = typer.Typer(help="Live user insights: Kafka -> PostgreSQL + Redis -> dashboard.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(stack_app, name="stack")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(alerts_app, name="alerts")
app.add_typer(hooks_app, name="hooks")
app.add_typer(health_app, name="health")
app.command()(simulate)
app.command()(demo)
app.command()(serve)
app.command("import")(import_events)


def _settings() -> Settings:
    settings = Settings()
    logs.configure(settings.log_level)
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the pending migrations shipped in the package (idempotent)."""
    settings = _settings()
    urls = endpoints.resolve(settings)
    applied = database.upgrade(urls.postgres_url)
    console.print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@app.command()
def topics(
    partitions: Annotated[int | None, typer.Option(help="partitions for new topics")] = None,
) -> None:
    """Create the contract's topics that do not exist yet."""
    settings = _settings()
    urls = endpoints.resolve(settings)
    created = kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(),
                                  partitions or settings.partitions)
    console.print(f"created: {', '.join(created)}" if created else "topics exist")


@app.command()
def consume() -> None:
    """Consume all topics into PostgreSQL and Redis until SIGTERM/SIGINT (then finish the batch)."""
    from consumers import collector
    from consumers.pipeline import Pipeline
    from consumers.stages import stages

    settings = _settings()
    urls = endpoints.resolve(settings)
    kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), settings.partitions)
    database.upgrade(urls.postgres_url)
    report = _lag_report(settings, urls) if settings.redis_sink else None
    schedule = _retention_schedule(settings, urls)
    pipeline = Pipeline(settings, urls.kafka_bootstrap, stages(settings, urls),
                        report_lag=report)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, pipeline.stop)
    try:
        if schedule is not None:
            schedule.start()
        collector.tune()
        code = pipeline.run()
    finally:
        if report is not None:
            report.close()
        if schedule is not None:
            schedule.stop()
    raise typer.Exit(code)


def _retention_schedule(settings: Settings, urls: StackUrls) -> RetentionSchedule | None:
    """The hourly retention, when one is set; a too short one stops the consumer here."""
    from insights.record.retention import RetentionRefused
    from insights.record.schedule import RetentionSchedule

    if settings.retention_months is None:
        return None
    try:
        return RetentionSchedule(urls.postgres_url, settings.retention_months)
    except RetentionRefused as exc:
        console.print(str(exc))
        raise typer.Exit(2) from exc


def _lag_report(settings: Settings, urls: StackUrls) -> LagReport:
    import redis

    from consumers.lag import LagReport
    from insights.readmodel.keys import Keys

    # Short timeouts: a hung Redis must not hold up the poll loop (the report is skipped).
    client = redis.Redis.from_url(urls.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return LagReport(client, Keys(settings.redis_prefix))


@app.command()
def audit(
    sample: Annotated[int, typer.Option(min=0, max=10_000,
                                        help="user profiles to compare")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="the result as JSON on stdout")
                       ] = False,
) -> None:
    """Compare the live read model with one rebuilt from PostgreSQL under a scratch
    prefix (every tab, period and filter, and a sample of profiles); print each
    difference (where, field, expected, found) and exit 1 when there is one. Safe while
    consumers run."""
    from insights.cli.audit import run

    run(sample, as_json=as_json)


@app.command()
def retention(
    months: Annotated[int | None, typer.Option(
        help="months kept (default: INSIGHTS_RETENTION_MONTHS)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would go")] = False,
) -> None:
    """Drop the event tables' months older than the retention, keeping the rows a profile
    still shows; trim the ledger. Consumers do it hourly when a retention is set."""
    from insights.cli.retention import run

    run(months, dry_run)


@app.command()
def backfill(
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="processes replaying (default: one per CPU core this process may use: "
        "its affinity, capped by a container's CPU quota)")] = None,
) -> None:
    """Rebuild the Redis read model from PostgreSQL into a new generation and switch to it
    when complete (consumers keep running, the dashboard keeps the one in use); run it
    again after an interruption and it continues."""
    from insights.cli.backfill import run

    run(workers)


def main() -> None:
    """Console-script entry point.

    A migration problem (none shipped, one edited after it was applied) and servers that
    cannot be had (a URL unset where the embedded stack is forbidden or not installed, an
    embedded server that failed) are a message and exit code 1, not a traceback.
    """
    try:
        app()
    except (database.MigrationError, StackError) as exc:
        # escape: the text holds brackets (insights[embedded]) rich would take for markup
        console.print(f"[red]insights: {escape(str(exc))}[/red]", highlight=False,
                      soft_wrap=True)
        raise SystemExit(1) from exc
