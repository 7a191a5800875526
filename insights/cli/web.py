"""The ``insights serve``, ``insights token`` and ``insights user`` commands (mounted by
``insights.cli.app``)."""

from __future__ import annotations

import logging
import re
import secrets
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import Engine

from insights import database, logs
from insights.settings import Settings
from web.auth.accounts import (
    Role,
    TokenInfo,
    UnknownRole,
    create_token,
    list_tokens,
    parse_role,
    revoke_token,
    revoke_tokens,
    set_password,
)
from web.auth.passwords import WeakPassword, hash_password
from web.engine import create_engine, postgres_url

log = logging.getLogger(__name__)
console = Console(stderr=True)

token_app = typer.Typer(help="API tokens of dashboard accounts.", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard accounts that log in with a password.",
                       no_args_is_help=True)

#: ``--expires-in``: a whole number and a unit (minutes, hours, days, weeks).
DURATION: Final = re.compile(r"([0-9]{1,6})([mhdw])")
UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _settings() -> Settings:
    settings = Settings()
    logs.configure(settings.log_level)
    return settings


def serve(
    host: Annotated[str | None, typer.Option(help="address to bind; default INSIGHTS_WEB_HOST")
                    ] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535,
                                             help="port; default INSIGHTS_WEB_PORT")] = None,
) -> None:
    """Serve the read API (OpenAPI at /docs) until Ctrl-C."""
    import uvicorn

    from web.app import create_app
    from web.server.limits import uvicorn_options

    settings = _settings()
    # log_config=None: keep the logging set up above instead of uvicorn's own.
    uvicorn.run(create_app(settings), host=host or settings.web_host,
                port=settings.web_port if port is None else port, log_config=None,
                ws_per_message_deflate=settings.web_ws_deflate, proxy_headers=True,
                forwarded_allow_ips=settings.web_forwarded_allow_ips,
                **uvicorn_options(settings))


def _role(name: str) -> Role:
    try:
        return parse_role(name)
    except UnknownRole as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None


def _password(from_stdin: bool, generate: bool) -> str:
    if generate:
        return secrets.token_urlsafe(12)
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="the e-mail to log in with")],
    role: Annotated[str, typer.Option(
        help="OFFICE_MANAGER or ADMIN may see insights; other roles are refused (403)")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from the first line of stdin")] = False,
    generate: Annotated[bool, typer.Option(
        "--generate", help="make up a strong password and print it once, on stdout")] = False,
) -> None:
    """Create a dashboard account with a password, or set the password and role of one."""
    parsed = _role(role)
    try:
        hashed = hash_password(password := _password(password_stdin, generate))
    except WeakPassword as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    settings = _settings()
    url = postgres_url(settings)
    database.upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        _, previous = set_password(engine, email.strip(), parsed, hashed)
    finally:
        engine.dispose()
    done = "created" if previous is None else "updated"
    console.print(f"{done} account {escape(email)} ({parsed.name}); it may log in now")
    if generate:
        typer.echo(password)


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(code)


def expiry(expires_in: str | None, expires_at: str | None, now: datetime) -> datetime | None:
    """When a new token expires: ``--expires-in`` (``30d``, ``12h``, ``90m``, ``2w``) from
    ``now``, or ``--expires-at`` (ISO 8601; UTC when it names no offset); ValueError when
    both are given, either is malformed, or the time is not in the future."""
    if expires_in is not None and expires_at is not None:
        raise ValueError("give --expires-in or --expires-at, not both")
    if expires_in is not None:
        match = DURATION.fullmatch(expires_in.strip())
        if match is None or int(match[1]) == 0:
            raise ValueError(f"--expires-in {expires_in!r}: a number and m, h, d or w (30d)")
        at = now + timedelta(**{UNITS[match[2]]: int(match[1])})
    elif expires_at is not None:
        try:
            at = datetime.fromisoformat(expires_at.strip())
        except ValueError:
            raise ValueError(f"--expires-at {expires_at!r}: not an ISO 8601 time") from None
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    else:
        return None
    if at <= now:
        raise ValueError(f"the expiry {at.isoformat()} is not in the future")
    return at


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="the dashboard account's e-mail")],
    role: Annotated[str, typer.Option(
        help="the account's role: OFFICE_MANAGER or ADMIN may see insights")],
    name: Annotated[str | None, typer.Option(help="a label for the token")] = None,
    expires_in: Annotated[str | None, typer.Option(
        help="expire after this long: 90m, 12h, 30d, 2w")] = None,
    expires_at: Annotated[str | None, typer.Option(
        help="expire at this ISO 8601 time (UTC unless it says otherwise)")] = None,
) -> None:
    """Create a token (and the account if missing); the token is printed once, on stdout.
    Without an expiry it works until revoked."""
    parsed = _role(role)
    try:
        expires = expiry(expires_in, expires_at, datetime.now(UTC))
    except ValueError as error:
        raise _fail(str(error)) from None
    settings = _settings()
    url = postgres_url(settings)
    database.upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        token, previous = create_token(engine, email, parsed, name, expires)
    finally:
        engine.dispose()
    if previous is None:
        console.print(f"created account {escape(email)} ({parsed.name})")
    elif previous != parsed.name:
        console.print(f"role of {escape(email)} changed from {previous} to {parsed.name}")
    if expires is not None:
        console.print(f"the token expires at {expires.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    console.print("the token is shown once; keep it now:")
    typer.echo(token)


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def token_line(info: TokenInfo) -> str:
    """One token as ``insights token list`` prints it (tab-separated; ``-`` for none)."""
    return "\t".join([str(info.id), info.email, info.role, info.name or "-",
                      _when(info.created_at), _when(info.expires_at),
                      _when(info.last_used_at), _when(info.revoked_at)])


@token_app.command("list")
def token_list() -> None:
    """Every token (never the token itself): id, account, role, name, created, expires,
    last used, revoked; tab-separated on stdout, one line each after a header."""
    settings = _settings()
    url = postgres_url(settings)
    database.upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        tokens = list_tokens(engine)
    finally:
        engine.dispose()
    typer.echo("id\temail\trole\tname\tcreated\texpires\tlast_used\trevoked")
    for info in tokens:
        typer.echo(token_line(info))


@token_app.command("revoke")
def token_revoke(
    email: Annotated[str | None, typer.Option(
        help="revoke every live token of this account")] = None,
    token_id: Annotated[int | None, typer.Option(
        "--id", help="revoke this one token (its id in `insights token list`)")] = None,
) -> None:
    """Revoke one token (--id) or every live token of an account (--email)."""
    if (email is None) == (token_id is None):
        raise _fail("give --id or --email (one of them)")
    settings = _settings()
    url = postgres_url(settings)
    database.upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        if token_id is not None:
            _revoke_one(engine, token_id)
            return
        revoked = revoke_tokens(engine, email or "")
    finally:
        engine.dispose()
    if revoked is None:
        raise _fail(f"no account {email}", 1)
    console.print(f"revoked {revoked} token(s) of {escape(email or '')}")


def _revoke_one(engine: Engine, token_id: int) -> None:
    done = revoke_token(engine, token_id)
    if done is None:
        raise _fail(f"no token {token_id}", 1)
    console.print(f"revoked token {token_id}" if done else
                  f"token {token_id} was already revoked")
