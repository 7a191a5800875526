"""``insights demo``: the whole pipeline on one machine, with traffic, until Ctrl-C.

Starts (or reuses) the embedded stack, creates topics and schema, runs one
``insights consume`` process, the web app (``insights serve``), the alert
dispatcher (``insights alerts dispatch``) and the traffic
simulator (history first, then live traffic), creates the demo login (a new
password each run) and an API token, and prints where to look: at once, again when
the history is in (so it is the last thing on screen), and whenever Enter is
pressed. The children's logs go to files under ``state_dir/logs``, not over it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from insights import database, endpoints, logs
from insights.alerts import sealing
from insights.events import kafka
from insights.settings import Settings
from insights.simulator.runner import KafkaSink, run
from insights.stack import StackUrls


def demo(
    *,
    users: Annotated[int, typer.Option(min=1, help="simulated registered users")] = 2000,
    rate: Annotated[float | None, typer.Option(
        min=0.1, help="a flat live load in events/s; default: the users' own daily rhythm,"
        " as in the history (no spike today)")] = None,
    backfill_days: Annotated[int, typer.Option(
        min=0, max=60, help="days of history sent first")] = 30,
) -> None:
    """Run stack, consumer and simulator together; Ctrl-C stops them all."""
    settings = Settings()
    logs.configure(settings.log_level)
    urls = endpoints.resolve(settings)
    kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), settings.partitions)
    database.upgrade(urls.postgres_url)
    log_dir = settings.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    files = [_log_file(log_dir, name) for name in ("consume", "serve", "dispatch")]
    # Its own session: Ctrl-C reaches the simulator only; the consumer gets one SIGTERM.
    children = [subprocess.Popen([sys.executable, "-m", "insights", *command],
                                 env=_environment(urls), start_new_session=True,
                                 stdout=out, stderr=subprocess.STDOUT)
                for command, out in zip((["consume"], ["serve"], ["alerts", "dispatch"]),
                                        files, strict=True)]
    token, password = _demo_credentials(urls)
    # SIGTERM (a process manager, `timeout`) stops the demo like Ctrl-C: children included.
    signal.signal(signal.SIGTERM, _interrupt)

    def announce() -> None:
        _announce(banner(settings, urls, token, password, log_dir), backfill_days)

    announce()
    _on_enter(announce)
    try:
        with KafkaSink(urls.kafka_bootstrap, settings.topics()) as sink:
            run(sink, users=users, rate=rate, duration=0, seed=None,
                backfill_days=backfill_days, bad_ratio=0.002, on_live=announce)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        codes = [child.wait(60) for child in children]
        for out in files:
            out.close()
        # uvicorn re-raises the SIGTERM it handled once it has shut down: -15 is clean too.
        clean = all(code in (0, -signal.SIGTERM) for code in codes)
        how = "cleanly" if clean else f"(exit codes {codes}; see {log_dir})"
        Console(stderr=True).print(f"consumer, web app and alert dispatcher stopped {how}; the"
                                   " stack keeps running: `insights stack down` stops it")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


DEMO_LOGIN = "demo@example.com"


def _demo_credentials(urls: StackUrls) -> tuple[str, str]:
    """A fresh API token and a fresh password of the demo's ADMIN account."""
    import secrets

    from web.auth.accounts import Role, create_token, set_password
    from web.auth.passwords import hash_password
    from web.engine import create_engine

    password = secrets.token_urlsafe(12)
    engine = create_engine(urls.postgres_url)
    try:
        set_password(engine, DEMO_LOGIN, Role.ADMIN, hash_password(password))
        return create_token(engine, DEMO_LOGIN, Role.ADMIN, "demo")[0], password
    finally:
        engine.dispose()


def _environment(urls: StackUrls) -> dict[str, str]:
    """The children's environment: the servers' URLs, and the embedded stack's default of
    rebuilding a lost read model (its Redis keeps nothing across a restart)."""
    settings = Settings()
    rebuild = {"INSIGHTS_REDIS_REBUILD": "auto" if settings.rebuilds_redis() else "stop"}
    # The embedded stack's key file seals hook secrets; the children get its key, as
    # their configured URLs would otherwise make them ask for INSIGHTS_SECRET_KEY.
    try:
        sealing_key = {"INSIGHTS_SECRET_KEY": sealing.key(settings).decode()}
    except sealing.MissingKey:
        sealing_key = {}        # configured servers, no key: the dispatcher says what to do
    return os.environ | rebuild | sealing_key | {"INSIGHTS_KAFKA_BOOTSTRAP": urls.kafka_bootstrap,
                                   "INSIGHTS_POSTGRES_URL": urls.postgres_url,
                                   "INSIGHTS_REDIS_URL": urls.redis_url}


def _log_file(log_dir: Path, name: str) -> IO[bytes]:
    return (log_dir / f"{name}.log").open("ab")


def _on_enter(announce: Callable[[], None]) -> None:
    """Print the banner again whenever Enter is pressed (a terminal only)."""
    if not sys.stdin.isatty():
        return

    def listen() -> None:
        for _ in sys.stdin:
            announce()

    threading.Thread(target=listen, name="banner-on-enter", daemon=True).start()


def banner(settings: Settings, urls: StackUrls, token: str, password: str,
           log_dir: Path) -> list[str]:
    """The demo's lines: where to look, how to log in, the servers, the logs. Each is
    printed whole (never wrapped), so the commands in it copy and paste as they are."""
    web = f"http://{settings.web_host}:{settings.web_port}"
    metrics = (f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
               if settings.metrics_port else "off (INSIGHTS_METRICS_PORT=0)")
    return [
        f"dashboard   {web}/",
        f"login       {DEMO_LOGIN}   password {password}   (role ADMIN)",
        "",
        f"API         {web}/docs   (Authorize with the token below)",
        f"token       {token}",
        f"  curl -H 'Authorization: Bearer {token}' '{web}/api/tabs/problems?period=week'",
        "",
        f"Kafka       {urls.kafka_bootstrap}   topics {settings.topic_prefix}*",
        f"PostgreSQL  {urls.postgres_url}",
        f"Redis       {urls.redis_url}",
        f"metrics     {metrics}",
        "alerts      insights alerts list   (hooks: insights hooks add NAME URL)",
        "",
        "Look at the data:",
        f"  psql {urls.postgres_url} -c 'SELECT type, count(*) FROM event_ledger GROUP BY 1'",
        f"  psql {urls.postgres_url} -c 'SELECT reason, count(*) FROM rejected_events"
        " GROUP BY 1'",
        f"logs        {log_dir}/consume.log, serve.log, dispatch.log",
    ]


def _announce(lines: list[str], backfill_days: int) -> None:
    console = Console(stderr=True)
    console.print(Rule("insights demo"))
    for line in lines:
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(f"Sending {backfill_days} days of history, then live traffic in the same"
                  " daily rhythm (busy in office hours, quiet at night). Enter prints this"
                  " again; Ctrl-C stops.", soft_wrap=True)
    console.print(Rule())
