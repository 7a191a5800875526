"""The engagement list by status in headless Chromium: counts per status, a click lists
only that status, the link restores it, and the export follows it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Browser

from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import desktop, log_in
from tests.read_model import simulate, wait_ingested
from tests.web_clients import make_account
from web.auth.accounts import Role

MANAGER = "office@corp.io"


def test_at_risk_users_are_listed_counted_and_linked(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    sent = simulate(emitter, datetime.now(UTC), users=25, days=35, seed=11)
    consumer = consumer_process().start()
    wait_ingested(settings, sent, check=consumer.check_alive)
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)

    context, page, errors = desktop(browser)
    log_in(page, web_url, MANAGER)
    page.wait_for_url(f"{web_url}/")
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
    context.close()
    assert errors == []
