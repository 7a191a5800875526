"""The dashboard in a browser while Redis is down: it says so, and comes back by itself.

Redis is a server of the test's own (the suite's shared one keeps running), killed
under ``insights serve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from insights.settings import Settings
from tests.redis_process import RedisProcess
from tests.web_clients import PASSWORD, make_account
from tests.web_server import WebServer
from web.auth.accounts import Role

MANAGER = "office@corp.io"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "redis").start()
    yield server
    server.close()


@pytest.fixture
def server(settings: Settings, own_redis: RedisProcess, tmp_path: Path) -> Iterator[WebServer]:
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
    web = WebServer(settings.model_copy(update={"redis_url": own_redis.url}),
                    tmp_path / "web.log").start()
    yield web
    web.stop()


def _logged_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', MANAGER)
    page.fill('input[name="password"]', PASSWORD)
    page.click('#login-form button[type="submit"]')
    page.wait_for_url(f"{base}/")
    page.wait_for_selector('#tab-panel[data-loaded="1"]')
    page.wait_for_selector('#conn-state[data-state="open"]')


def test_the_page_names_the_server_that_is_down_and_comes_back_by_itself(
        browser: Browser, server: WebServer, own_redis: RedisProcess, artifacts: Path) -> None:
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _logged_in(page, server.url)
    page.evaluate("window.__sameDocument = true")

    own_redis.kill()
    page.wait_for_selector('#conn-state[data-outage="redis unreachable"]')
    assert "Redis" in (page.text_content("#conn-state") or "")
    assert "Redis" in (page.text_content("#tab-panel .notice") or "")
    assert "Redis" in (page.get_attribute("#freshness", "title") or "")
    assert page.get_attribute("#freshness", "data-level") == "bad"
    page.screenshot(path=artifacts / "outage-redis.png", full_page=True)

    own_redis.start()
    page.wait_for_selector('#conn-state[data-state="open"]', timeout=30000)
    assert page.get_attribute("#conn-state", "data-outage") is None
    page.wait_for_selector("#tab-panel .notice", state="detached")
    assert page.evaluate("window.__sameDocument") is True          # no reload needed

    # Loading the page while Redis is down: the 503 page, which reloads itself.
    own_redis.kill()
    page.reload()
    assert page.get_attribute("#unavailable", "data-part") == "redis"
    page.screenshot(path=artifacts / "outage-page.png", full_page=True)
    own_redis.start()
    page.wait_for_selector('#conn-state[data-state="open"]', timeout=30000)
    assert errors == []
