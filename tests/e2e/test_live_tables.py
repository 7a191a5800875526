"""Live tables in headless Chromium: rows are patched in place, so a focused row link
keeps the focus through live updates; pause stops the page changing (remembered across a
reload) and resume shows the newest numbers at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Browser, Page

from harness.factories import event
from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import signed_in
from tests.e2e.sites import MANAGER, simulated_site

UPDATES = 20


def _messages(page: Page) -> int:
    return int(page.evaluate("window.__insightsMessages"))


def _failed_logins(page: Page) -> int:
    text = page.text_content('#tab-panel [data-stat="failed_logins"]') or ""
    return int("".join(ch for ch in text if ch.isdigit()) or "0")


def _next_update(page: Page, emitter: Emitter) -> None:
    """One more brute-force alert (the failed-logins card counts it), and its message."""
    seen = _messages(page)
    emitter.emit(event("security_alert", datetime.now(UTC), user_email="u1@example.com",
                       alert_type="brute_force"))
    emitter.flush()
    page.wait_for_function("(n) => window.__insightsMessages > n", arg=seen, timeout=30000)


def test_focus_survives_live_updates_and_pause_holds_the_page(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    simulated_site(settings, emitter, consumer_process, users=15, days=3, seed=9)
    context, page, errors = signed_in(browser, web_url, MANAGER)
    page.goto(f"{web_url}/#/problems?period=day")
    page.wait_for_selector('#tab-panel[data-tab="problems"][data-loaded="1"]')
    page.wait_for_selector('#conn-state[data-state="open"]')

    page.focus("#tab-panel tbody tr a.user-link")
    page.evaluate("window.__focused = document.activeElement")
    start, patches = _failed_logins(page), page.evaluate("window.__insightsPatches")
    for _ in range(UPDATES):
        _next_update(page, emitter)
    page.wait_for_function(
        """(want) => Number((document.querySelector('#tab-panel [data-stat="failed_logins"]')
             .textContent || '').replace(/\\D/g, '')) >= want""", arg=start + UPDATES)
    assert _failed_logins(page) == start + UPDATES         # each alert counted once
    assert page.evaluate("document.activeElement === window.__focused")
    assert page.evaluate("window.__focused.isConnected")
    # The socket asked for patches: most updates came as one, applied to the document.
    assert page.evaluate("window.__insightsPatches") - patches >= UPDATES // 2

    page.click("#live-toggle")
    assert page.get_attribute("#live-toggle", "aria-pressed") == "true"
    held, table = _failed_logins(page), page.inner_html("#tab-panel")
    for _ in range(2):                       # messages still come: the page holds
        _next_update(page, emitter)
    assert _failed_logins(page) == held and page.inner_html("#tab-panel") == table
    assert page.get_attribute("#freshness", "data-level") == "paused"
    assert "newer numbers waiting" in (page.text_content("#freshness") or "")

    page.reload()                            # remembered for this tab
    page.wait_for_selector('#tab-panel[data-tab="problems"][data-loaded="1"]')
    assert page.get_attribute("#live-toggle", "aria-pressed") == "true"
    now_held = _failed_logins(page)          # the fetch on load shows what is there
    _next_update(page, emitter)
    assert _failed_logins(page) == now_held
    page.click("#live-toggle")               # resume: the newest at once
    assert page.get_attribute("#live-toggle", "aria-pressed") == "false"
    assert _failed_logins(page) == now_held + 1
    assert page.get_attribute("#freshness", "data-level") != "paused"
    context.close()
    assert errors == []
