"""The dashboard in headless Chromium: log in, every tab and a profile, live updates
without reload, and every refusal (wrong password, no session, low role, foreign origin)
on the page, the API and the WebSocket.

Screenshots of each tab land in ``test-artifacts/e2e``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from harness.factories import event
from harness.services import ConsumerProcess, stored_records
from insights.database import connect
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import desktop, log_in, open_tab
from tests.read_model import simulate, wait_ingested
from tests.web_clients import make_account
from tests.web_server import WebServer
from web.auth.accounts import Role
from web.reader import TABS

MANAGER, MEMBER, ADMIN = "office@corp.io", "member@corp.io", "admin@corp.io"
# Resolves with how a socket ended: its close code and how many messages it got.
SOCKET_OUTCOME = """(url) => new Promise((resolve) => {
  const ws = new WebSocket(url); let messages = 0;
  ws.onmessage = () => { messages += 1; };
  ws.onclose = (e) => resolve({code: e.code, messages});
  setTimeout(() => resolve({code: -1, messages}), 10000);
})"""
FETCH_STATUS = """(url) => fetch(url, {credentials: 'include'})
  .then((r) => r.status, () => 'blocked')"""


def _site(settings: Settings, emitter: Emitter,
          consumer_process: Callable[[], ConsumerProcess], users: int, days: int
          ) -> ConsumerProcess:
    sent = simulate(emitter, datetime.now(UTC), users=users, days=days, seed=5)
    consumer = consumer_process().start()
    wait_ingested(settings, sent, check=consumer.check_alive)
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
    make_account(settings.postgres_url or "", MEMBER, Role.MANAGER)
    return consumer


@pytest.fixture
def site(settings: Settings, emitter: Emitter,
         consumer_process: Callable[[], ConsumerProcess]) -> ConsumerProcess:
    """A week of simulated traffic ingested by an ``insights consume`` process that keeps
    running, and two accounts: an OFFICE_MANAGER and a MANAGER (who may not see insights)."""
    return _site(settings, emitter, consumer_process, users=40, days=7)


@pytest.fixture
def small_site(settings: Settings, emitter: Emitter,
               consumer_process: Callable[[], ConsumerProcess]) -> ConsumerProcess:
    """The same with a day of four users: for the tests about access and connections,
    which read no figure."""
    return _site(settings, emitter, consumer_process, users=4, days=1)


def _stat(page: Page, name: str) -> int:
    text = page.text_content(f'#tab-panel [data-stat="{name}"]') or ""
    return int("".join(ch for ch in text if ch.isdigit()) or "0")


def test_every_tab_and_a_profile_render_and_move_live(
        browser: Browser, web_url: str, settings: Settings, site: ConsumerProcess,
        emitter: Emitter, *, artifacts: Path) -> None:
    context, page, errors = desktop(browser)
    page.goto(f"{web_url}/")
    assert page.url == f"{web_url}/login"
    log_in(page, web_url, MANAGER)
    page.wait_for_url(f"{web_url}/")
    for tab in TABS:
        open_tab(page, tab)
        page.screenshot(path=artifacts / f"tab-{tab}.png", full_page=True)
    open_tab(page, "engagement")
    page.click("#tab-panel tr[data-user-id]")
    page.wait_for_selector('#profile[data-loaded="1"]')
    assert (page.text_content('#profile [data-stat="engagement_score"]') or "").strip() != "—"
    page.screenshot(path=artifacts / "profile.png", full_page=True)

    open_tab(page, "problems")
    page.click('[data-period="day"]')
    page.wait_for_selector('#tab-panel[data-tab="problems"][data-loaded="1"]')
    page.wait_for_selector('#conn-state[data-state="open"]')
    page.evaluate("window.__sameDocument = true")
    before, messages = _stat(page, "failed_logins"), page.evaluate("window.__insightsMessages")
    applied = stored_records(settings)
    # The card counts brute-force and lock alerts (semantics 6).
    for _ in range(5):
        emitter.emit(event("security_alert", datetime.now(UTC), user_email="u1@example.com",
                           alert_type="brute_force"))
    emitter.flush()
    # Both sinks have the five: the page's last document counts each exactly once.
    wait_ingested(settings, applied + 5, check=site.check_alive)
    page.wait_for_function(
        """(want) => Number((document.querySelector('#tab-panel [data-stat="failed_logins"]')
             .textContent || '').replace(/\\D/g, '')) >= want""", arg=before + 5, timeout=30000)
    assert _stat(page, "failed_logins") == before + 5
    assert page.evaluate("window.__sameDocument") is True          # no reload
    assert page.evaluate("window.__insightsMessages") > messages
    assert "ago" in (page.text_content("#freshness") or "")
    page.screenshot(path=artifacts / "live-problems-day.png", full_page=True)
    site.check_alive()

    phone = browser.new_context(viewport={"width": 390, "height": 844},
                                storage_state=context.storage_state()).new_page()
    phone.goto(f"{web_url}/")
    phone.wait_for_selector('#tab-panel[data-loaded="1"]')
    phone.screenshot(path=artifacts / "phone-problems.png", full_page=True)
    context.close()
    assert errors == []


def test_the_alerts_view_shows_a_new_alert_live_in_both_languages(
        browser: Browser, web_url: str, site: ConsumerProcess, emitter: Emitter,
        artifacts: Path) -> None:
    context, page, errors = desktop(browser)
    log_in(page, web_url, MANAGER)
    page.wait_for_url(f"{web_url}/")
    open_tab(page, "alerts")
    page.wait_for_selector('#conn-state[data-state="open"]')
    assert page.is_hidden("#period-select")
    now = datetime.now(UTC)
    emitter.emit(event("user_upsert", now, user_id=9001, email="locked@example.com"))
    emitter.emit(event("account_locked", now, user_id=9001,
                       locked_until=now.replace(year=now.year + 1).isoformat()))
    emitter.flush()
    row = '#tab-panel[data-tab="alerts"] tr[data-user-id="9001"]'
    page.wait_for_selector(row, timeout=30000)                 # live: no reload
    assert "account locked" in (page.text_content(row) or "")
    page.click(f"{row} [data-deliveries-for]")                 # no notification yet
    page.wait_for_selector("#alert-deliveries .empty")
    page.screenshot(path=artifacts / "tab-alerts.png", full_page=True)
    page.click('[data-lang="pl"]')
    page.wait_for_selector(f"{row} >> text=uruchomiony")
    assert page.text_content('#tabs [data-tab="alerts"]') == "Alerty"
    page.click(row)
    page.wait_for_selector('#profile[data-user-id="9001"]')
    site.check_alive()
    context.close()
    assert errors == []


def test_an_admin_sees_a_deliverys_attempts_and_sends_it_again(
        browser: Browser, web_url: str, settings: Settings) -> None:
    make_account(settings.postgres_url or "", ADMIN, Role.ADMIN)
    with closing(connect(settings.postgres_url or "")) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO alert_hooks (name, url, secret) VALUES ('ops', 'https://h.example/x',"
            " 'sealed') RETURNING id")
        hook = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(
            "INSERT INTO alert_notifications (id, rule_id, kind) VALUES ('msg_e2e', 2, 'firing');"
            "INSERT INTO alerts (rule_id, user_id, crossing, kind, value, occurred_at,"
            " notification_id) VALUES (2, 77, 1, 'firing', '1', now(), 'msg_e2e');"
            "INSERT INTO alert_deliveries (notification_id, hook_id, body, state, attempts)"
            " VALUES ('msg_e2e', %s, '{}', 'failed', 1);"
            "INSERT INTO alert_attempts (delivery_id, attempt, started_at, duration_ms,"
            " status_code, error) SELECT id, 1, now(), 40, 500, 'HTTP 500'"
            " FROM alert_deliveries", (hook,))
        conn.commit()
    page = browser.new_context().new_page()
    log_in(page, web_url, ADMIN)
    page.wait_for_url(f"{web_url}/")
    open_tab(page, "alerts")
    page.click('#tab-panel tr[data-user-id="77"] [data-deliveries-for]')
    delivery = "#alert-deliveries .delivery"
    page.wait_for_selector(f"{delivery} >> text=HTTP 500")
    assert "failed" in (page.text_content(f"{delivery} h3") or "")
    page.click('[data-resend="msg_e2e"]')
    page.wait_for_selector(f"{delivery} h3 >> text=pending")
    page.context.close()


def _refused_everywhere(page: Page, web_url: str) -> dict[str, Any]:
    ws = web_url.replace("http://", "ws://")
    return {"api": page.evaluate(FETCH_STATUS, f"{web_url}/api/tabs/problems"),
            "socket": page.evaluate(SOCKET_OUTCOME, f"{ws}/ws/tabs/problems")}


def test_refusals_on_page_api_and_socket(
        browser: Browser, web_url: str, foreign_url: str, small_site: ConsumerProcess) -> None:
    page = browser.new_context().new_page()
    # No session: the page goes to the log-in, the API says 401, the socket closes 4401.
    page.goto(f"{web_url}/")
    assert page.url == f"{web_url}/login"
    assert _refused_everywhere(page, web_url) == {
        "api": 401, "socket": {"code": 4401, "messages": 0}}

    # Wrong password: the same answer as an unknown account, and still no session.
    log_in(page, web_url, MANAGER, "not the right password")
    assert page.text_content("#login-error") == "Wrong e-mail or password."
    log_in(page, web_url, "nobody@corp.io")
    assert page.text_content("#login-error") == "Wrong e-mail or password."
    assert _refused_everywhere(page, web_url) == {
        "api": 401, "socket": {"code": 4401, "messages": 0}}

    # A role below OFFICE_MANAGER: logged in, refused with 403 / 4403.
    log_in(page, web_url, MEMBER)
    page.wait_for_selector("#forbidden")
    assert _refused_everywhere(page, web_url) == {
        "api": 403, "socket": {"code": 4403, "messages": 0}}

    # A page of another origin, in a browser logged in as a manager: it can neither
    # read the API (no CORS) nor open a socket (the handshake is refused).
    manager = browser.new_context().new_page()
    log_in(manager, web_url, MANAGER)
    manager.wait_for_url(f"{web_url}/")
    manager.goto(foreign_url)
    outcome = _refused_everywhere(manager, web_url)
    assert outcome["api"] == "blocked"
    assert outcome["socket"]["messages"] == 0 and outcome["socket"]["code"] == 1006


def test_the_page_reconnects_by_itself_after_the_server_restarts(
        browser: Browser, web_server: WebServer, small_site: ConsumerProcess, emitter: Emitter
) -> None:
    page = browser.new_context().new_page()
    log_in(page, web_server.url, MANAGER)
    page.wait_for_url(f"{web_server.url}/")
    page.wait_for_selector('#conn-state[data-state="open"]')
    page.evaluate("window.__sameDocument = true")
    web_server.stop()
    page.wait_for_selector('#conn-state[data-state="closed"], #conn-state[data-state="connecting"]')
    web_server.start()
    page.wait_for_selector('#conn-state[data-state="open"]', timeout=30000)
    before = page.evaluate("window.__insightsMessages")
    emitter.emit(event("security_alert", datetime.now(UTC), user_email="u2@example.com",
                       alert_type="brute_force"))
    emitter.flush()
    page.wait_for_function("(n) => window.__insightsMessages > n", arg=before, timeout=30000)
    assert page.evaluate("window.__sameDocument") is True
