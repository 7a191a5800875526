"""The tab list as ARIA tabs (arrow keys, Home, End, one tab stop) and the dark theme
that follows the system's setting, in headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page

from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import signed_in
from tests.e2e.sites import MANAGER, simulated_site


def _background(page: Page, selector: str) -> tuple[int, ...]:
    rgb = page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")
    return tuple(int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])


def test_arrow_keys_walk_the_tabs_and_the_dark_theme_follows_the_system(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess], *, artifacts: Path) -> None:
    simulated_site(settings, emitter, consumer_process, users=10, days=2, seed=3)
    context, page, errors = signed_in(browser, web_url, MANAGER, color_scheme="dark")
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
