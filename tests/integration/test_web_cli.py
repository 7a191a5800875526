"""``insights token create|list|revoke`` against a real PostgreSQL, then the token on the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from harness.services import admin, unique, with_database
from insights import stack
from insights.cli.app import app as cli
from insights.settings import Settings
from web.app import create_app
from web.auth.accounts import hash_token, live_tokens
from web.documents.users import ProblemsTab
from web.engine import create_engine
from web.reader import Filter, Tab


class _EmptyReader:
    """A tab reader with nothing in any tab: these tests are about the token only."""

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> ProblemsTab:
        return ProblemsTab(locked_accounts=0, failed_logins=0, password_resets=0, js_errors=0,
                           problem_users=[])


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


def _create(run: CliRunner, email: str, *extra: str) -> str:
    result = run.invoke(cli, ["token", "create", "--email", email, "--role", "ADMIN", *extra])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def _sql(database_url: str, statement: str, **params: object) -> None:
    engine = create_engine(database_url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def _listed(run: CliRunner) -> list[dict[str, str]]:
    result = run.invoke(cli, ["token", "list"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    return [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]


def test_a_token_with_an_expiry_works_until_then_and_is_refused_after(
        run: CliRunner, empty_database: str, stack_urls: stack.StackUrls) -> None:
    result = run.invoke(cli, ["token", "create", "--email", "e@corp.io", "--role", "ADMIN",
                              "--expires-in", "30d"])
    assert result.exit_code == 0, result.output
    assert "the token expires at" in result.stderr
    token = result.stdout.strip()
    forever = _create(run, "e@corp.io")
    [listed, _] = _listed(run)
    expires = datetime.fromisoformat(listed["expires"])
    created = datetime.fromisoformat(listed["created"])
    assert timedelta(days=29, hours=23) < expires - created < timedelta(days=30, minutes=1)
    assert _status(empty_database, stack_urls.redis_url, token) == 200
    # Time passes: the expiry is now behind us.
    _sql(empty_database, "UPDATE api_tokens SET expires_at = now() - interval '1 second'"
                         " WHERE token_hash = :hash", hash=hash_token(token))
    assert _status(empty_database, stack_urls.redis_url, token) == 401
    assert _status(empty_database, stack_urls.redis_url, forever) == 200
    engine = create_engine(empty_database, pool_size=1)
    # Sockets held by the expired token close at the next re-check.
    assert set(live_tokens(engine, [hash_token(token), hash_token(forever)])) == {
        hash_token(forever)}
    engine.dispose()


def test_expires_at_takes_an_iso_time_utc_unless_told(run: CliRunner,
                                                     empty_database: str) -> None:
    _create(run, "a@corp.io", "--expires-at", "2999-01-02T03:04:05")
    _create(run, "a@corp.io", "--expires-at", "2999-01-02T03:04:05+02:00")
    assert [row["expires"] for row in _listed(run)] == ["2999-01-02T03:04:05Z",
                                                        "2999-01-02T01:04:05Z"]


@pytest.mark.parametrize("options", [
    ["--expires-in", "30"], ["--expires-in", "0d"], ["--expires-in", "-1d"],
    ["--expires-in", "1y"], ["--expires-at", "tomorrow"], ["--expires-at", "2001-01-01"],
    ["--expires-in", "1d", "--expires-at", "2999-01-01"],
])
def test_a_bad_expiry_creates_nothing(run: CliRunner, empty_database: str,
                                      options: list[str]) -> None:
    result = run.invoke(cli, ["token", "create", "--email", "b@corp.io", "--role", "ADMIN",
                              *options])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "expires" in result.stderr or "expiry" in result.stderr
    assert _listed(run) == []


def test_list_shows_every_token_but_never_the_token(run: CliRunner, empty_database: str,
                                                    stack_urls: stack.StackUrls) -> None:
    first = _create(run, "a@corp.io", "--name", "reports")
    second = _create(run, "b@corp.io", "--expires-in", "2w")
    assert _status(empty_database, stack_urls.redis_url, first) == 200     # last used
    assert run.invoke(cli, ["token", "revoke", "--email", "b@corp.io"]).exit_code == 0
    output = run.invoke(cli, ["token", "list"]).output
    for secret in (first, second, hash_token(first), hash_token(second)):
        assert secret not in output
    rows = _listed(run)
    assert [(r["email"], r["role"], r["name"]) for r in rows] == [
        ("a@corp.io", "ADMIN", "reports"), ("b@corp.io", "ADMIN", "-")]
    assert [r["expires"] == "-" for r in rows] == [True, False]
    assert [r["last_used"] == "-" for r in rows] == [False, True]
    assert [r["revoked"] == "-" for r in rows] == [True, False]
    assert int(rows[0]["id"]) < int(rows[1]["id"])


def test_revoke_by_id_ends_that_token_only(run: CliRunner, empty_database: str,
                                           stack_urls: stack.StackUrls) -> None:
    tokens = [_create(run, "a@corp.io") for _ in range(2)]
    ids = [row["id"] for row in _listed(run)]
    result = run.invoke(cli, ["token", "revoke", "--id", ids[0]])
    assert result.exit_code == 0 and f"revoked token {ids[0]}" in result.stderr
    assert [_status(empty_database, stack_urls.redis_url, t) for t in tokens] == [401, 200]
    again = run.invoke(cli, ["token", "revoke", "--id", ids[0]])
    assert again.exit_code == 0 and "already revoked" in again.stderr
    missing = run.invoke(cli, ["token", "revoke", "--id", "999999"])
    assert missing.exit_code == 1 and "no token 999999" in missing.stderr


@pytest.mark.parametrize("options", [[], ["--id", "1", "--email", "a@corp.io"]])
def test_revoke_needs_exactly_one_of_id_and_email(run: CliRunner, options: list[str]) -> None:
    result = run.invoke(cli, ["token", "revoke", *options])
    assert result.exit_code == 2
    assert "give --id or --email" in result.stderr
