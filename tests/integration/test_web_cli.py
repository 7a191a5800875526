"""``insights token create|revoke`` against a real PostgreSQL, then the token on the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from insights import stack
from insights.cli import app as cli
from insights.settings import Settings
from tests.services import admin, unique, with_database
from web.accounts import hash_token
from web.app import create_app
from web.engine import create_engine
from web.reader import Filter, Tab


class _EmptyReader:
    """A tab reader with nothing in any tab: these tests are about the token only."""

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> dict[str, Any]:
        return {}


@pytest.fixture
def empty_database(stack_urls: stack.StackUrls) -> Iterator[str]:
    """A database with no schema: ``token create`` must migrate it first."""
    name = unique("insights_tokens_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    yield with_database(stack_urls.postgres_url, name)
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def run(empty_database: str) -> CliRunner:
    return CliRunner(env={"INSIGHTS_POSTGRES_URL": empty_database})


def _status(database_url: str, redis_url: str, token: str) -> int:
    settings = Settings(postgres_url=database_url, redis_url=redis_url)
    with TestClient(create_app(settings, tab_reader=_EmptyReader())) as client:
        response = client.get("/api/tabs/problems",
                              headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def _accounts(database_url: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url, pool_size=1)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.email, a.role, t.name, t.token_hash, t.revoked_at IS NOT NULL"
            " FROM accounts a JOIN api_tokens t ON t.account_id = a.id ORDER BY t.id")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_create_migrates_prints_the_token_once_and_stores_its_hash(
        run: CliRunner, empty_database: str, stack_urls: stack.StackUrls) -> None:
    result = run.invoke(cli, ["token", "create", "--email", "om@corp.io",
                              "--role", "office_manager", "--name", "reports"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    assert "created account om@corp.io" in result.stderr
    assert _accounts(empty_database) == [
        ("om@corp.io", "OFFICE_MANAGER", "reports", hash_token(token), False)]
    assert _status(empty_database, stack_urls.redis_url, token) == 200


def test_a_second_token_reuses_the_account_and_can_change_its_role(
        run: CliRunner, empty_database: str, stack_urls: stack.StackUrls) -> None:
    first = run.invoke(cli, ["token", "create", "--email", "x@corp.io", "--role", "ADMIN"])
    second = run.invoke(cli, ["token", "create", "--email", "x@corp.io", "--role", "MEMBER"])
    assert first.exit_code == second.exit_code == 0
    assert "changed from ADMIN to MEMBER" in second.stderr
    rows = _accounts(empty_database)
    assert [(email, role) for email, role, *_ in rows] == [("x@corp.io", "MEMBER")] * 2
    # The role belongs to the account: both tokens now see a MEMBER.
    assert _status(empty_database, stack_urls.redis_url, first.stdout.strip()) == 403


def test_an_unknown_role_is_refused_with_the_choices(run: CliRunner, empty_database: str
                                                     ) -> None:
    result = run.invoke(cli, ["token", "create", "--email", "x@corp.io", "--role", "boss"])
    assert result.exit_code == 2
    assert "unknown role 'boss'" in result.stderr
    assert "OFFICE_MANAGER" in result.stderr
    assert result.stdout == ""


def test_revoke_ends_every_token_of_the_account(run: CliRunner, empty_database: str,
                                               stack_urls: stack.StackUrls) -> None:
    tokens = [run.invoke(cli, ["token", "create", "--email", "a@corp.io", "--role", "ADMIN"]
                         ).stdout.strip() for _ in range(2)]
    other = run.invoke(cli, ["token", "create", "--email", "b@corp.io", "--role", "ADMIN"]
                       ).stdout.strip()
    result = run.invoke(cli, ["token", "revoke", "--email", "a@corp.io"])
    assert result.exit_code == 0
    assert "revoked 2 token(s)" in result.stderr
    assert [_status(empty_database, stack_urls.redis_url, t) for t in tokens] == [401, 401]
    assert _status(empty_database, stack_urls.redis_url, other) == 200


def test_revoking_an_unknown_account_fails(run: CliRunner) -> None:
    result = run.invoke(cli, ["token", "revoke", "--email", "nobody@corp.io"])
    assert result.exit_code == 1
    assert "no account nobody@corp.io" in result.stderr
