"""``insights health consumer|web``: container healthchecks, exit 0 when healthy, else 1
with one line saying why (what ``docker compose ps`` and ``docker inspect`` show)."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from typing import Annotated

import typer
from rich.console import Console

from consumers.health import verdict
from insights.settings import Settings

log = logging.getLogger(__name__)
console = Console(stderr=True, soft_wrap=True)   # one line each, whatever the width

health_app = typer.Typer(help="Healthchecks of a running process on this host (containers).",
                         no_args_is_help=True)
TIMEOUT_S = 3.0


def _fetch(url: str) -> tuple[int, str]:
    """Status and body of ``url``; raises typer.Exit(1) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            return int(answer.status), answer.read().decode(errors="replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace")
    except OSError as exc:
        console.print(f"unhealthy: {url}: {exc}", highlight=False)
        raise typer.Exit(1) from exc


@health_app.command("consumer")
def consumer(
    max_commit_age: Annotated[float, typer.Option(
        min=1, help="seconds without a commit, while records wait, that count as stuck")
    ] = 120.0,
) -> None:
    """Healthy while the consumer's metrics answer and it keeps up: no lag, or a commit
    within --max-commit-age seconds."""
    settings = Settings()
    if not settings.metrics_port:
        console.print("unhealthy: INSIGHTS_METRICS_PORT is 0; the check reads the metrics")
        raise typer.Exit(1)
    _, body = _fetch(f"http://127.0.0.1:{settings.metrics_port}/metrics")
    problem = verdict(body, time.time(), max_commit_age)
    if problem is not None:
        console.print(f"unhealthy: {problem}", highlight=False)
        raise typer.Exit(1)
    console.print("healthy")


@health_app.command("web")
def web() -> None:
    """Healthy when the web app's /healthz says both servers are ok (200)."""
    settings = Settings()
    status, body = _fetch(f"http://127.0.0.1:{settings.web_port}/healthz")
    if status != 200:
        console.print(f"unhealthy: /healthz {status} {body.strip()}", highlight=False)
        raise typer.Exit(1)
    console.print("healthy")
