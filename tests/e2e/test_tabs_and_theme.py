"""The tab list as ARIA tabs (arrow keys, Home, End, one tab stop) and the dark theme
that follows the system's setting, in headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser, Page

from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import log_in
from tests.read_model import simulate, wait_ingested
from tests.web_clients import make_account
from web.auth.accounts import Role

MANAGER = "office@corp.io"


def _background(page: Page, selector: str) -> tuple[int, ...]:
    rgb = page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")
    return tuple(int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])


def test_arrow_keys_walk_the_tabs_and_the_dark_theme_follows_the_system(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess], *, artifacts: Path) -> None:
    sent = simulate(emitter, datetime.now(UTC), users=10, days=2, seed=3)
    consumer = consumer_process().start()
    wait_ingested(settings, sent, check=consumer.check_alive)
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
    context = browser.new_context(viewport={"width": 1366, "height": 860}, color_scheme="dark")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, web_url, MANAGER)
    page.wait_for_url(f"{web_url}/")
    page.wait_for_selector('#tab-panel[data-tab="problems"][data-loaded="1"]')
    page.screenshot(path=artifacts / "dark-problems.png", full_page=True)
    assert max(_background(page, "body")) < 60                      # dark
    assert min(_background(page, ".card")) < 60

    stops = page.eval_on_selector_all("#tabs [role=tab]", "tabs => tabs.map(t => t.tabIndex)")
    assert stops.count(0) == 1                                      # one tab stop
    page.focus('#tabs [data-tab="problems"]')
    page.keyboard.press("ArrowRight")
    page.wait_for_selector('#tab-panel[data-tab="engagement"][data-loaded="1"]')
    assert page.evaluate("document.activeElement.dataset.tab") == "engagement"
    assert page.get_attribute('#tabs [data-tab="engagement"]', "aria-selected") == "true"
    assert page.get_attribute("#tab-panel", "aria-labelledby") == "tab-engagement"
    page.keyboard.press("End")
    page.wait_for_selector('#tab-panel[data-tab="alerts"]')
    page.keyboard.press("ArrowRight")                               # wraps to the first
    page.wait_for_selector('#tab-panel[data-tab="problems"][data-loaded="1"]')
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector('#tab-panel[data-tab="alerts"]')
    assert page.evaluate("document.activeElement.dataset.tab") == "alerts"
    context.close()
    assert errors == []
