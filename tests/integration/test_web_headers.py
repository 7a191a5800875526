"""Security headers on every kind of response, set once by ``web.server.security_headers``:
the page, ``/docs``, ``/openapi.json``, the API's JSON and CSV, refusals; HSTS over HTTPS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from insights import stack
from insights.settings import Settings
from web.app import create_app
from web.auth.accounts import Role, create_token
from web.documents.users import ProblemsTab
from web.engine import create_engine
from web.reader import Filter, Tab
from web.server.security_headers import HSTS, SECURITY_HEADERS


class _Reader:
    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> ProblemsTab:
        return ProblemsTab(locked_accounts=0, failed_logins=0, password_resets=0, js_errors=0,
                           problem_users=[])


@pytest.fixture
def client(database_url: str, stack_urls: stack.StackUrls) -> Iterator[TestClient]:
    settings = Settings(postgres_url=database_url, redis_url=stack_urls.redis_url)
    with TestClient(create_app(settings, tab_reader=_Reader(),
                               clock=lambda: datetime(2026, 3, 15, tzinfo=UTC))) as c:
        yield c


@pytest.fixture
def token(database_url: str) -> str:
    engine = create_engine(database_url, pool_size=1)
    try:
        return create_token(engine, "admin@corp.io", Role.ADMIN)[0]
    finally:
        engine.dispose()


def _has_security_headers(headers: Any, cache: str = "no-store") -> None:
    for name, value in SECURITY_HEADERS.items():
        expected = cache if name == "Cache-Control" else value
        assert headers.get(name) == expected, (name, headers.get(name))


@pytest.mark.parametrize("path", ["/login", "/docs", "/openapi.json", "/healthz",
                                  "/api/tabs/problems", "/api/export/problems.csv"])
def test_every_response_has_the_pages_security_headers(client: TestClient, token: str,
                                                       path: str) -> None:
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    _has_security_headers(response.headers)
    assert "strict-transport-security" not in response.headers


def test_refusals_have_them_too(client: TestClient) -> None:
    _has_security_headers(client.get("/api/tabs/problems").headers)            # 401
    _has_security_headers(client.get("/api/tabs/nope").headers)                # 401 first
    _has_security_headers(client.post("/login", content=b"x" * 70000).headers)  # 413


def test_static_assets_keep_their_revalidation(client: TestClient) -> None:
    _has_security_headers(client.get("/static/app.css").headers, cache="no-cache")


def test_hsts_only_over_https(client: TestClient, token: str) -> None:
    client.base_url = client.base_url.copy_with(scheme="https")
    for path in ("/login", "/docs", "/api/tabs/problems"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.headers["strict-transport-security"] == HSTS


def test_the_docs_page_runs_no_inline_script(client: TestClient) -> None:
    page = client.get("/docs").text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip()
                           for attrs, body in scripts)
    assert "style=" not in page and "<style" not in page
    start = client.get("/static/swagger-init.js")
    assert start.status_code == 200 and "url: '/openapi.json'" in start.text
