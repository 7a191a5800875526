"""``insights demo``: the whole pipeline on one machine, with traffic, until Ctrl-C.

Starts (or reuses) the embedded stack, creates topics and schema, runs one
``insights consume`` process, the web app (``insights serve``), the alert
dispatcher (``insights alerts dispatch``) and the traffic
simulator (history first, then live traffic), creates the demo login (a new
password each run) and an API token, and prints where to look.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from insights import database, endpoints, logs
from insights.alerts import sealing
from insights.events import kafka
from insights.settings import Settings
from insights.simulator.runner import KafkaSink, run
from insights.stack import StackUrls


def demo(
    *,
    users: Annotated[int, typer.Option(min=1, help="simulated registered users")] = 200,
    rate: Annotated[float, typer.Option(min=0.1, help="live events per second")] = 50.0,
    backfill_days: Annotated[int, typer.Option(
        min=0, max=60, help="days of history sent first")] = 30,
) -> None:
    """Run stack, consumer and simulator together; Ctrl-C stops them all."""
    settings = Settings()
    logs.configure(settings.log_level)
    urls = endpoints.resolve(settings)
    kafka.ensure_topics(urls.kafka_bootstrap, settings.topics().values(), settings.partitions)
    database.upgrade(urls.postgres_url)
    # Its own session: Ctrl-C reaches the simulator only; the consumer gets one SIGTERM.
    children = [subprocess.Popen([sys.executable, "-m", "insights", *command],
                                 env=_environment(urls), start_new_session=True)
                for command in (["consume"], ["serve"], ["alerts", "dispatch"])]
    token, password = _demo_credentials(urls)
    # SIGTERM (a process manager, `timeout`) stops the demo like Ctrl-C: children included.
    signal.signal(signal.SIGTERM, _interrupt)
    _announce(settings, urls, backfill_days, token, password)
    try:
        with KafkaSink(urls.kafka_bootstrap, settings.topics()) as sink:
            run(sink, users=users, rate=rate, duration=0, seed=None,
                backfill_days=backfill_days, bad_ratio=0.002)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        codes = [child.wait(60) for child in children]
        Console(stderr=True).print(f"consumer, web app and alert dispatcher stopped (exit "
                                   f"{codes}); the stack"
                                   " keeps running: `insights stack down` stops it")


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


def _announce(settings: Settings, urls: StackUrls, backfill_days: int, token: str,
              password: str) -> None:
    web = f"http://{settings.web_host}:{settings.web_port}"
    lines = [
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
        f"metrics     http://{settings.metrics_host}:{settings.metrics_port}/metrics",
        "alerts      insights alerts list   (hooks: insights hooks add NAME URL)",
        "",
        "Look at the data:",
        f"  psql {urls.postgres_url} -c 'SELECT type, count(*) FROM event_ledger GROUP BY 1'",
        f"  psql {urls.postgres_url} -c 'SELECT reason, count(*) FROM rejected_events"
        " GROUP BY 1'",
        "",
        f"Sending {backfill_days} days of history, then live traffic. Ctrl-C stops.",
    ]
    Console(stderr=True).print(Panel("\n".join(lines), title="insights demo", expand=False))
