"""The ``insights alerts`` and ``insights hooks`` commands (mounted by ``insights.cli.app``)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from insights import database, endpoints, logs
from insights.alerts import outbox, sealing, signing, store
from insights.alerts.backtest import backtest as replay
from insights.alerts.destination import Allowed, RefusedUrl, check
from insights.alerts.rules import Rule
from insights.database import Connection
from insights.settings import Settings

console = Console(stderr=True)
out = Console()
alerts_app = typer.Typer(help="Alert rules, recent alerts and their dispatcher.",
                         no_args_is_help=True)
hooks_app = typer.Typer(help="Hooks the alerts are delivered to (signed webhooks).",
                        no_args_is_help=True)


@contextmanager
def _db() -> Iterator[tuple[Settings, Connection]]:
    """The settings as configured (an unset server URL still means the embedded stack,
    which decides where the hooks' sealing key comes from) and a connection."""
    settings = Settings()
    logs.configure(settings.log_level)
    urls = endpoints.resolve(settings)
    database.upgrade(urls.postgres_url)
    with closing(database.connect(urls.postgres_url)) as conn:
        yield settings, conn


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(1)


@alerts_app.command("dispatch")
def dispatch() -> None:
    """Deliver alerts to the hooks until SIGTERM/SIGINT (several may run side by side)."""
    import redis

    from insights.alerts.dispatcher import Announcer, Dispatcher
    from insights.readmodel.keys import Keys

    with _db() as (settings, _):
        urls = endpoints.resolve(settings)
        client = redis.Redis.from_url(urls.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            dispatcher = Dispatcher(settings, urls.postgres_url,
                                    Announcer(client, Keys(settings.redis_prefix).changes))
        except sealing.MissingKey as exc:
            raise _fail(str(exc)) from None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dispatcher.stop.set())
    dispatcher.run()


@alerts_app.command("rules")
def rules() -> None:
    """List the alert rules."""
    with _db() as (_, conn):
        table = Table("id", "name", "kind", "metric", "when", "severity", "cooldown", "on")
        for r in store.load_rules(conn):
            table.add_row(str(r.id), r.name, r.kind, r.metric, _when(r), r.severity,
                          f"{r.cooldown_s} s", "yes" if r.enabled else "no")
    out.print(table)


def _when(rule: Rule) -> str:
    if rule.kind == "transition":
        return f"{rule.from_status} -> {rule.to_status}"
    if rule.kind == "rise":
        return f"+{rule.threshold} in {rule.window_minutes} min"
    return f">= {rule.threshold} (resolved < {rule.threshold - rule.hysteresis})"


@alerts_app.command("rule")
def rule(  # noqa: PLR0917 - a command line of options
    name: str,
    kind: Annotated[str, typer.Option(help="threshold, rise or transition")] = "threshold",
    metric: Annotated[str, typer.Option(help="problem_day|week|month, engagement, locked, "
                                             "status")] = "problem_week",
    threshold: Annotated[int, typer.Option(help="T, or D points for a rise")] = 60,
    hysteresis: Annotated[int, typer.Option(help="resolved below T - H")] = 0,
    window: Annotated[int, typer.Option(help="minutes of a rise")] = 0,
    from_status: Annotated[str, typer.Option("--from")] = "*",
    to_status: Annotated[str, typer.Option("--to")] = "",
    severity: Annotated[str, typer.Option()] = "warning",
    role: Annotated[list[str] | None, typer.Option(help="only users of this role")] = None,
    cooldown: Annotated[int, typer.Option(help="seconds between two firings per user")] = 3600,
    disabled: Annotated[bool, typer.Option("--disabled")] = False,
) -> None:
    """Create a rule, or change the rule of that name."""
    with _db() as (_, conn):
        existing = {r.name: r.id for r in store.load_rules(conn)}
        new = Rule(existing.get(name, 0), name, kind, metric, severity,  # type: ignore[arg-type]
                   threshold, hysteresis, window, from_status, to_status,
                   tuple(role) if role else None, cooldown, not disabled)
        try:
            rule_id = store.save_rule(conn, new)
        except store.InvalidRule as exc:
            raise _fail(str(exc)) from None
    out.print(f"rule {rule_id}: {name}")


@alerts_app.command("backtest")
def backtest(
    rule_name: Annotated[str, typer.Argument(metavar="RULE", help="the rule's name or id")],
    since: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="first day (UTC)")],
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                   help="last day; default today")] = None,
) -> None:
    """How many alerts, for how many users, the rule would have fired per day."""
    now = datetime.now(UTC)
    last = (until or now).date()
    if since.date() > last:
        raise _fail("--since is after --until")
    with _db() as (_, conn):
        found = [r for r in store.load_rules(conn) if rule_name in (r.name, str(r.id))]
        if not found:
            raise _fail(f"no rule {rule_name!r} (insights alerts rules lists them)")
        with console.status("replaying the history"):
            days = replay(conn, found[0], since.date(), last, now)
    table = Table("day", "alerts", "users", "resolved", title=f"backtest: {found[0].name}")
    for day in days:
        table.add_row(day.day.isoformat(), str(day.firings), str(len(day.users)),
                      str(day.resolutions))
    out.print(table)
    users = set().union(*(d.users for d in days)) if days else set()
    out.print(f"{sum(d.firings for d in days)} alerts for {len(users)} users over "
              f"{len(days)} days")


@alerts_app.command("list")
def list_alerts(limit: Annotated[int, typer.Option(min=1, max=1000)] = 50) -> None:
    """The newest alerts and where their delivery stands."""
    with _db() as (_, conn):
        table = Table("at", "rule", "user", "kind", "value", "was", "delivery")
        for a in store.recent_alerts(conn, limit):
            table.add_row(f"{a.occurred_at:%Y-%m-%d %H:%M:%S}", a.rule, str(a.user_id), a.kind,
                          a.value, a.previous or "", a.delivery)
    out.print(table)


@hooks_app.command("keygen")
def keygen() -> None:
    """Print a new key for INSIGHTS_SECRET_KEY (seals the hooks' secrets)."""
    out.print(sealing.new_key())


@hooks_app.command("add")
def add(name: str, url: str,
        fmt: Annotated[str, typer.Option("--format", help="json, slack, teams or "
                                                          "alertmanager")] = "json") -> None:
    """Add a hook; its signing secret is printed once, here."""
    with _db() as (settings, conn):
        try:
            check(url, Allowed.parse(settings.hooks_allow))
            secret = signing.new_secret()
            hook_id = store.add_hook(conn, name, url, fmt, sealing.seal(secret,
                                                                        sealing.key(settings)))
        except (RefusedUrl, store.InvalidRule, sealing.MissingKey) as exc:
            raise _fail(str(exc)) from None
    console.print(f"hook {hook_id} added; its signing secret (shown only now):")
    out.print(secret)


@hooks_app.command("rotate")
def rotate(name: str) -> None:
    """Give a hook a new secret; the old one keeps signing beside it until the next."""
    with _db() as (settings, conn):
        secret = signing.new_secret()
        if not store.rotate_hook(conn, name, sealing.seal(secret, sealing.key(settings))):
            raise _fail(f"no hook named {name!r}")
    console.print("new signing secret (shown only now):")
    out.print(secret)


@hooks_app.command("list")
def list_hooks() -> None:
    """The hooks, and why any is disabled."""
    with _db() as (_, conn):
        table = Table("id", "name", "url", "format", "on", "failing since", "disabled because")
        for h in store.load_hooks(conn):
            since = f"{h.failing_since:%Y-%m-%d %H:%M}" if h.failing_since else ""
            table.add_row(str(h.id), h.name, h.url, h.format, "yes" if h.enabled else "no",
                          since, h.disabled_reason or "")
    out.print(table)


@hooks_app.command("enable")
def enable(name: str, off: Annotated[bool, typer.Option("--off")] = False) -> None:
    """Enable a hook again (or disable it with --off)."""
    with _db() as (_, conn):
        if not store.set_hook_enabled(conn, name, not off):
            raise _fail(f"no hook named {name!r}")


@hooks_app.command("remove")
def remove(name: str) -> None:
    """Remove a hook and its deliveries."""
    with _db() as (_, conn):
        if not store.remove_hook(conn, name):
            raise _fail(f"no hook named {name!r}")


@hooks_app.command("test")
def test(name: str) -> None:
    """Queue a test notification to one hook (the dispatcher sends it)."""
    with _db() as (settings, conn):
        hooks = {h.name: h.id for h in store.load_hooks(conn)}
        queued = outbox.queue_test(conn, hooks.get(name, 0), settings.dashboard_url)
    if queued is None:
        raise _fail(f"no hook named {name!r}")
    out.print(queued)


@hooks_app.command("resend")
def resend(notification: str) -> None:
    """Send a notification again, with the same id, to every hook it went to."""
    with _db() as (_, conn):
        count = store.resend(conn, notification)
    if not count:
        raise _fail(f"no deliveries of {notification!r}")
    console.print(f"{count} deliveries queued again")
