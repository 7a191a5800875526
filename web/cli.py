"""The ``insights serve``, ``insights token`` and ``insights user`` commands (mounted by
``insights.cli``)."""

from __future__ import annotations

import logging
import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from insights import database, logs
from insights.settings import Settings
from web.accounts import Role, UnknownRole, create_token, parse_role, revoke_tokens, set_password
from web.engine import create_engine, postgres_url
from web.passwords import WeakPassword, hash_password

log = logging.getLogger(__name__)
console = Console(stderr=True)

token_app = typer.Typer(help="API tokens of dashboard accounts.", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard accounts that log in with a password.",
                       no_args_is_help=True)


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

    settings = _settings()
    # log_config=None: keep the logging set up above instead of uvicorn's own.
    uvicorn.run(create_app(settings), host=host or settings.web_host,
                port=settings.web_port if port is None else port, log_config=None,
                ws_per_message_deflate=settings.web_ws_deflate, proxy_headers=True,
                forwarded_allow_ips=settings.web_forwarded_allow_ips)


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


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="the dashboard account's e-mail")],
    role: Annotated[str, typer.Option(
        help="the account's role: OFFICE_MANAGER or ADMIN may see insights")],
    name: Annotated[str | None, typer.Option(help="a label for the token")] = None,
) -> None:
    """Create a token (and the account if missing); the token is printed once, on stdout."""
    parsed = _role(role)
    settings = _settings()
    url = postgres_url(settings)
    database.upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        token, previous = create_token(engine, email, parsed, name)
    finally:
        engine.dispose()
    if previous is None:
        console.print(f"created account {escape(email)} ({parsed.name})")
    elif previous != parsed.name:
        console.print(f"role of {escape(email)} changed from {previous} to {parsed.name}")
    console.print("the token is shown once; keep it now:")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    email: Annotated[str, typer.Option(help="the dashboard account's e-mail")],
) -> None:
    """Revoke every live token of an account."""
    settings = _settings()
    url = postgres_url(settings)
    database.upgrade(url)
    engine = create_engine(url, pool_size=1)
    try:
        revoked = revoke_tokens(engine, email)
    finally:
        engine.dispose()
    if revoked is None:
        console.print(f"[red]no account {escape(email)}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {revoked} token(s) of {escape(email)}")
