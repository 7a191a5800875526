"""The read API over real PostgreSQL and Redis: token auth, health, tab routes and CSV export.

The tab routes are served by a small in-test :class:`TabReader` that records the
arguments it gets, so the tests see what the route passed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from insights import stack
from insights.settings import Settings
from web.app import create_app
from web.auth.accounts import Role, create_token, hash_token, revoke_tokens
from web.documents.users import ProblemsTab
from web.engine import create_engine
from web.reader import Filter, Tab

NOW = datetime(2026, 3, 15, 12, 30, tzinfo=UTC)
PROBLEM_USERS = [
    {"user": {"id": 1, "name": "=cmd|' /C calc'!A0", "email": "ann@example.com"}, "score": 70,
     "failed_logins": 3, "password_resets": 1, "js_errors": 2, "slow_pages": 0,
     "security_alerts": 1, "is_locked": True, "last_login": "2026-03-14T09:00:00Z",
     "components": []},
    {"user": {"id": 2, "name": "Bo", "email": "@bo@example.com"}, "score": 10,
     "failed_logins": 1, "password_resets": 0, "js_errors": 0, "slow_pages": 0,
     "security_alerts": 0, "is_locked": False, "last_login": None, "components": []},
]


class EchoReader:
    """A TabReader that records its arguments; every tab is the problems tab above."""

    def __init__(self) -> None:
        self.calls: list[tuple[Tab, str, Filter, datetime]] = []

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> ProblemsTab:
        self.calls.append((tab, period, filter_, now))
        return msgspec.convert({"locked_accounts": 1, "failed_logins": 4, "password_resets": 1,
                                "js_errors": 2, "problem_users": PROBLEM_USERS}, ProblemsTab)


@pytest.fixture
def reader() -> EchoReader:
    return EchoReader()


@pytest.fixture
def client(database_url: str, stack_urls: stack.StackUrls, reader: EchoReader
           ) -> Iterator[TestClient]:
    settings = Settings(postgres_url=database_url, redis_url=stack_urls.redis_url)
    with TestClient(create_app(settings, tab_reader=reader, clock=lambda: NOW)) as test_client:
        yield test_client


def _token(database_url: str, email: str, role: Role) -> str:
    engine = create_engine(database_url, pool_size=1)
    try:
        return create_token(engine, email, role, "test")[0]
    finally:
        engine.dispose()


@pytest.fixture
def admin_headers(database_url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(database_url, 'admin@corp.io', Role.ADMIN)}"}


def test_healthz_needs_no_token_and_pings_both_servers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"postgres": "ok", "redis": "ok", "read_model": "ok"}


def test_healthz_is_503_when_redis_is_unreachable(database_url: str) -> None:
    settings = Settings(postgres_url=database_url, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings, tab_reader=EchoReader())) as test_client:
        response = test_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"postgres": "ok", "redis": "unreachable"}


@pytest.mark.parametrize("path", ["/api/tabs/problems", "/api/users/1",
                                  "/api/export/pages.csv"])
def test_no_token_is_401_with_a_bearer_challenge(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic YTpi", "Bearer "])
def test_a_bad_token_is_401(client: TestClient, admin_headers: dict[str, str],
                            header: str) -> None:
    response = client.get("/api/tabs/problems", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_is_401(client: TestClient, database_url: str,
                                admin_headers: dict[str, str]) -> None:
    assert client.get("/api/tabs/problems", headers=admin_headers).status_code == 200
    engine = create_engine(database_url, pool_size=1)
    assert revoke_tokens(engine, "admin@corp.io") == 1
    engine.dispose()
    assert client.get("/api/tabs/problems", headers=admin_headers).status_code == 401


@pytest.mark.parametrize("role", [Role.MEMBER, Role.UNAFFILIATED, Role.MANAGER])
def test_roles_below_office_manager_are_403(client: TestClient, database_url: str,
                                            role: Role) -> None:
    token = _token(database_url, f"{role.name.lower()}@corp.io", role)
    response = client.get("/api/tabs/problems", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "OFFICE_MANAGER" in response.json()["detail"]


@pytest.mark.parametrize("role", [Role.OFFICE_MANAGER, Role.ADMIN])
def test_office_manager_and_admin_are_let_in(client: TestClient, database_url: str,
                                             role: Role) -> None:
    token = _token(database_url, f"{role.name.lower()}@corp.io", role)
    response = client.get("/api/tabs/pages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_only_the_hash_is_stored_and_use_is_recorded(client: TestClient, database_url: str
                                                      ) -> None:
    token = _token(database_url, "om@corp.io", Role.OFFICE_MANAGER)
    client.get("/api/tabs/pages", headers={"Authorization": f"Bearer {token}"})
    engine = create_engine(database_url, pool_size=1)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT token_hash, last_used_at FROM api_tokens")).all()
    engine.dispose()
    assert len(rows) == 1
    assert rows[0][0] == hash_token(token) != token
    assert rows[0][1] is not None


def test_tab_route_passes_tab_period_filter_and_now(client: TestClient, reader: EchoReader,
                                                    admin_headers: dict[str, str]) -> None:
    response = client.get("/api/tabs/overview?period=month&filter=anonymous",
                          headers=admin_headers)
    assert response.status_code == 200
    assert set(response.json()) >= {"problem_users", "freshness"}
    assert reader.calls == [("overview", "month", "anonymous", NOW)]


def test_tab_route_defaults_to_week_and_all(client: TestClient, reader: EchoReader,
                                            admin_headers: dict[str, str]) -> None:
    assert client.get("/api/tabs/paths", headers=admin_headers).status_code == 200
    assert reader.calls == [("paths", "week", "all", NOW)]


@pytest.mark.parametrize(("path", "named"), [
    ("/api/tabs/nope", "problems"),
    ("/api/tabs/problems?period=year", "month"),
    ("/api/tabs/overview?filter=bots", "anonymous"),
    ("/api/export/overview.csv", "engagement"),
    ("/api/export/problems.csv?period=yesterday", "week"),
])
def test_unknown_tab_period_filter_or_export_is_422_naming_the_choices(
        client: TestClient, reader: EchoReader, admin_headers: dict[str, str],
        path: str, named: str) -> None:
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 422
    assert named in response.text
    assert reader.calls == []


def test_problems_export_is_a_csv_attachment_with_formulas_defused(
        client: TestClient, reader: EchoReader, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/export/problems.csv?period=day", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        "attachment; filename=insights_problems_day.csv")
    assert reader.calls == [("problems", "day", "all", NOW)]
    assert response.content.startswith(b"\xef\xbb\xbf")   # UTF-8 with a byte order mark
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["user_id", "name", "email", "score", "failed_logins", "password_resets", "js_errors",
         "slow_pages", "security_alerts", "is_locked", "last_login"],
        ["1", "'=cmd|' /C calc'!A0", "ann@example.com", "70", "3", "1", "2", "0", "1", "true",
         "2026-03-14T09:00:00Z"],
        ["2", "Bo", "'@bo@example.com", "10", "1", "0", "0", "0", "0", "false", ""],
    ]
    polish = client.get("/api/export/problems.csv?period=day&lang=pl", headers=admin_headers)
    header = next(csv.reader(io.StringIO(polish.content.decode("utf-8-sig"))))
    assert header[:3] == ["ID użytkownika", "Imię i nazwisko", "E-mail"]
    as_json = client.get("/api/export/problems.json?period=day", headers=admin_headers)
    assert as_json.headers["content-disposition"] == (
        "attachment; filename=insights_problems_day.json")
    assert [row["user"]["name"] for row in as_json.json()] == ["=cmd|' /C calc'!A0", "Bo"]


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/tabs/{tab}", "/api/users/{user_id}", "/api/export/{kind}.csv",
            "/healthz"} <= set(paths)


def test_without_a_reader_the_app_serves_the_redis_read_model(
        database_url: str, stack_urls: stack.StackUrls, admin_headers: dict[str, str]) -> None:
    # An empty database and a prefix no other test uses: every tab is empty, not an error.
    settings = Settings(postgres_url=database_url, redis_url=stack_urls.redis_url,
                        redis_prefix=f"web-{database_url.rsplit('/', 1)[-1]}")
    with TestClient(create_app(settings, clock=lambda: NOW)) as test_client:
        tabs = {tab: test_client.get(f"/api/tabs/{tab}", headers=admin_headers)
                for tab in ("problems", "engagement", "pages", "paths", "overview")}
        export = test_client.get("/api/export/engagement.csv", headers=admin_headers)
    assert {tab: response.status_code for tab, response in tabs.items()} == dict.fromkeys(
        tabs, 200)
    assert tabs["problems"].json()["problem_users"] == []
    assert tabs["overview"].json()["filter_type"] == "all"
    assert export.text.splitlines() == [
        '\ufeff"user_id","name","email","score","sessions","page_views","wow","status"']
