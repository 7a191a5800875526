"""``insights stack up|down|status``: manage the embedded stack from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from insights.stack import launcher, state
from insights.stack.base import StackError
from insights.stack.ports import HOST

app = typer.Typer(
    help="Embedded Kafka-API broker, PostgreSQL and Valkey on loopback.",
    no_args_is_help=True,
)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where the stack keeps data, logs and pids [default: settings' state_dir]",
        show_default=False,
    ),
]


def _state_dir(option: Path | None) -> Path:
    if option is not None:
        return option
    from insights.settings import Settings

    return Settings().state_dir


def _urls_table(urls: launcher.StackUrls) -> Table:
    table = Table(show_header=False, box=None)
    table.add_row("INSIGHTS_KAFKA_BOOTSTRAP", urls.kafka_bootstrap)
    table.add_row("INSIGHTS_POSTGRES_URL", urls.postgres_url)
    table.add_row("INSIGHTS_REDIS_URL", urls.redis_url)
    return table


@app.command()
def up(
    state_dir: StateDirOption = None,
    partitions: Annotated[
        int | None, typer.Option(help="partitions of topics created now [default: settings]")
    ] = None,
) -> None:
    """Start the servers that are not running, create the topics, print the URLs."""
    from insights.events.kafka import ensure_topics
    from insights.settings import Settings

    settings = Settings()
    directory = state_dir or settings.state_dir
    console = Console()
    already = launcher.urls(directory) is not None
    try:
        urls = launcher.up(directory)
    except StackError as exc:
        Console(stderr=True).print(f"[red]stack up failed:[/red] {escape(str(exc))}",
                                   highlight=False)
        raise typer.Exit(1) from exc
    created = ensure_topics(urls.kafka_bootstrap, settings.topics().values(),
                            partitions or settings.partitions)
    console.print("already running:" if already else "started:", style="green")
    console.print(_urls_table(urls))
    if created:
        console.print(f"created topics: {', '.join(created)}")


@app.command()
def down(state_dir: StateDirOption = None) -> None:
    """Stop all servers (data and ports are kept for the next ``up``)."""
    try:
        launcher.down(_state_dir(state_dir))
    except StackError as exc:
        Console(stderr=True).print(f"[red]stack down failed:[/red] {escape(str(exc))}",
                                   highlight=False)
        raise typer.Exit(1) from exc
    Console().print("stopped", style="green")


@app.command()
def status(state_dir: StateDirOption = None) -> None:
    """Print each server's state; exit 1 if any server is down."""
    directory = Path(_state_dir(state_dir)).expanduser().resolve()
    running = launcher.status(directory)
    records = state.load(directory)
    table = Table("server", "state", "address", "pid", "log")
    for name, server in launcher.SERVERS.items():
        record = records.get(name)
        table.add_row(
            name,
            "[green]running[/green]" if running[name] else "[red]down[/red]",
            f"{HOST}:{record.port}" if record else "-",
            str(record.pid) if running[name] and record and record.pid else "-",
            str(server.log_path(directory)),
        )
    Console().print(table)
    if not all(running.values()):
        raise typer.Exit(1)
