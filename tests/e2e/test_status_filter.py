"""The engagement list in headless Chromium: counts per status, a click lists only that
status, a column header sorts it, the link restores both, and the export follows."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Browser, Page

from harness.factories import event
from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import signed_in
from tests.e2e.sites import MANAGER, simulated_site

SESSIONS = 2          # the engagement table's sessions column
# The body as sent, byte order mark included (r.text() would drop it).
FETCH_TEXT = """(url) => fetch(url, {credentials: 'include'}).then((r) => r.arrayBuffer())
  .then((body) => new TextDecoder('utf-8', {ignoreBOM: true}).decode(body))"""
SESSIONS_OF_ROWS = """() => [...document.querySelectorAll('#tab-panel tbody tr[data-user-id]')]
  .map((r) => Number(r.children[2].textContent.replace(/\\D/g, '')))"""


def test_at_risk_users_are_listed_counted_sorted_and_linked(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    simulated_site(settings, emitter, consumer_process, users=25, days=35, seed=11)
    context, page, errors = signed_in(browser, web_url, MANAGER)
    page.goto(f"{web_url}/#/engagement?period=month")
    page.wait_for_selector('#tab-panel[data-loaded="1"]')
    counts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '[data-status-filter]')].map(b => [b.dataset.statusFilter,
        Number(b.querySelector('.seg-count').textContent.replace(/\\D/g, ''))]))""")
    assert counts["at_risk"] > 0, counts
    assert counts["all"] == counts["active"] + counts["at_risk"] + counts["dormant"]

    page.click('[data-status-filter="at_risk"]')
    page.wait_for_url(f"{web_url}/#/engagement?period=month&status=at_risk")
    page.wait_for_selector('#tab-panel[data-loaded="1"]')
    statuses = page.eval_on_selector_all("#tab-panel tbody tr[data-user-id]",
                                         "rows => rows.map(r => r.dataset.status)")
    assert statuses == ["at_risk"] * min(counts["at_risk"], 50)
    assert page.get_attribute('[data-status-filter="at_risk"]', "aria-pressed") == "true"
    href = page.get_attribute('[data-export="engagement"]', "href") or ""
    assert href.endswith("filter=at_risk")

    page.goto(f"{web_url}/#/problems?period=month")         # away, then by the link again
    page.wait_for_selector('#tab-panel[data-tab="problems"][data-loaded="1"]')
    page.goto(f"{web_url}/#/engagement?period=month&status=at_risk")
    page.wait_for_selector('#tab-panel[data-tab="engagement"][data-loaded="1"]')
    again = page.eval_on_selector_all("#tab-panel tbody tr[data-user-id]",
                                      "rows => rows.map(r => r.dataset.status)")
    assert again == statuses

    page.goto(f"{web_url}/#/engagement?period=month")
    page.wait_for_selector('#tab-panel[data-tab="engagement"][data-loaded="1"]')
    header = f"#tab-panel thead th:nth-child({SESSIONS + 1}) .sort-btn"
    page.click(header)                                  # most sessions first
    page.wait_for_url(f"{web_url}/#/engagement?period=month&sort={SESSIONS}:desc")
    most_first = page.evaluate(SESSIONS_OF_ROWS)
    assert len(set(most_first)) > 1 and most_first == sorted(most_first, reverse=True)
    page.click(header)                                  # then fewest first
    assert page.evaluate(SESSIONS_OF_ROWS) == sorted(most_first)
    assert page.get_attribute(f"#tab-panel thead th:nth-child({SESSIONS + 1})",
                              "aria-sort") == "ascending"
    page.reload()                                       # the link keeps the order
    page.wait_for_selector('#tab-panel[data-tab="engagement"][data-loaded="1"]')
    assert page.evaluate(SESSIONS_OF_ROWS) == sorted(most_first)

    _export_defuses_a_formula_name(page, emitter)
    context.close()
    assert errors == []


def _export_defuses_a_formula_name(page: Page, emitter: Emitter) -> None:
    """A listed user renamed to a formula: the page's CSV defuses it, headers in Polish."""
    uid = int(page.get_attribute("#tab-panel tbody tr[data-user-id]", "data-user-id") or 0)
    email = (page.text_content(f'#tab-panel tr[data-user-id="{uid}"] .user-email') or "")
    emitter.emit(event("user_upsert", user_id=uid, email=email.strip(), name="=1+2 Mallory"))
    emitter.flush()
    page.click('#lang-switch [data-lang="pl"]')
    page.wait_for_selector('#tab-panel[data-tab="engagement"][data-loaded="1"]')
    href = page.get_attribute('[data-export="engagement"]', "href") or ""
    assert "lang=pl" in href
    deadline, text = time.monotonic() + 30, ""
    while "Mallory" not in text and time.monotonic() < deadline:
        text = page.evaluate(FETCH_TEXT, href)
    assert text.startswith("\ufeff\"ID użytkownika\"")
    assert f'"{uid}","\'=1+2 Mallory"' in text
