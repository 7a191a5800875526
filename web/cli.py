"""The ``insights serve`` and ``insights token`` commands (mounted by ``insights.cli``)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from insights import database, logs
from insights.settings import Settings
from web.accounts import UnknownRole, create_token, parse_role, revoke_tokens
from web.engine import create_engine, postgres_url

log = logging.getLogger(__name__)
console = Console(stderr=True)

token_app = typer.Typer(help="API tokens of dashboard accounts.", no_args_is_help=True)


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
                port=settings.web_port if port is None else port, log_config=None)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="the dashboard account's e-mail")],
    role: Annotated[str, typer.Option(
        help="the account's role: OFFICE_MANAGER or ADMIN may see insights")],
    name: Annotated[str | None, typer.Option(help="a label for the token")] = None,
) -> None:
    """Create a token (and the account if missing); the token is printed once, on stdout."""
    try:
        parsed = parse_role(role)
    except UnknownRole as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None
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
