"""Alert rules and hooks managed in the page: an ADMIN adds a hook (its secret shown once)
and a rule (backtested first), events cross the rule, and the alert shows live in the
Alerts view and reaches the receiver signed with that secret; an OFFICE_MANAGER sees the
rules read-only and no hooks, and the API refuses their changes too."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, BrowserContext, Page
from pydantic import SecretStr

from harness.factories import event
from harness.services import ConsumerProcess
from insights.alerts.dispatcher import Dispatcher
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import desktop, log_in, open_tab
from tests.receiver import Receiver, receiving, verifies
from tests.web_clients import make_account
from tests.web_server import WebServer
from web.auth.accounts import Role

ADMIN, MANAGER = "admin@corp.io", "office@corp.io"
RULE = "two security alerts today"
POST_RULE = """(rule) => fetch('/api/alerts/rules', {method: 'POST',
  credentials: 'same-origin', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify(rule)}).then((r) => r.status)"""


@pytest.fixture
def alerting(settings: Settings) -> Settings:
    """Hooks on loopback allowed, a sealing key, no grouping wait."""
    return settings.model_copy(update={
        "secret_key": SecretStr(Fernet.generate_key().decode()), "hooks_allow": "127.0.0.1",
        "alerts_group_s": 0.0, "alerts_metrics_port": 0})


class Running(NamedTuple):
    url: str
    consumer: ConsumerProcess
    settings: Settings


@pytest.fixture
def running(alerting: Settings, tmp_path: Path) -> Iterator[Running]:
    """The web app, a consumer and a dispatcher, all with the alerting settings."""
    server = WebServer(alerting, tmp_path / "web.log").start()
    consumer = ConsumerProcess(alerting, tmp_path).start()
    dispatcher = Dispatcher(alerting, alerting.postgres_url or "")
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield Running(server.url, consumer, alerting)
    finally:
        dispatcher.stop.set()
        thread.join(30)
        consumer.close()
        server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as got:
        yield got


def _alerts_page(browser: Browser, running: Running, email: str, role: Role
                 ) -> tuple[BrowserContext, Page, list[str]]:
    """A desktop page logged in as a new account of ``role``, on the Alerts tab."""
    make_account(running.settings.postgres_url or "", email, role)
    context, page, errors = desktop(browser)
    log_in(page, running.url, email)
    page.wait_for_url(f"{running.url}/")
    open_tab(page, "alerts")
    return context, page, errors


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_an_admin_sets_up_a_hook_and_a_rule_in_the_page_and_the_alert_arrives(
        browser: Browser, running: Running, receiver: Receiver, emitter: Emitter,
        artifacts: Path) -> None:
    consumer = running.consumer
    context, page, errors = _alerts_page(browser, running, ADMIN, Role.ADMIN)

    page.click("#new-hook")
    page.fill('#hook-form [data-field="name"]', "ops")
    page.fill('#hook-form [data-field="url"]', receiver.url)
    page.click('#hook-form button[type="submit"]')
    secret = page.input_value("[data-secret]")
    assert secret.startswith("whsec_")
    page.wait_for_selector('tr[data-hook-id] >> text=ops')

    page.click("#new-rule")
    page.fill('#rule-form [data-field="name"]', RULE)
    page.select_option('#rule-form [data-field="metric"]', "problem_day")
    page.select_option('#rule-form [data-field="severity"]', "critical")
    page.fill('#rule-form [data-field="threshold"]', "40")
    page.click("#backtest-rule")                       # nothing stored yet: no alert
    page.wait_for_selector('[data-backtest-alerts="0"]')
    page.screenshot(path=artifacts / "alerts-rule-form.png", full_page=True)
    page.click('#rule-form button[type="submit"]')
    page.wait_for_selector(f'tr[data-rule-id] >> text="{RULE}"')
    assert page.query_selector("#rule-form") is None
    page.wait_for_selector('#conn-state[data-state="open"]')

    now = datetime.now(UTC)
    emitter.emit(event("user_upsert", now, user_id=9200, email="target@example.com"))
    for _ in range(2):
        emitter.emit(event("security_alert", now, user_email="target@example.com",
                           alert_type="brute_force"))
    emitter.flush()
    row = '#tab-panel[data-tab="alerts"] tr[data-user-id="9200"]'
    page.wait_for_selector(f"{row} >> text={RULE}", timeout=30000)     # live: no reload
    _wait(lambda: any(RULE in body.decode() for _, body in receiver.delivered()),
          "the alert at the receiver")
    [(headers, body)] = [(h, b) for h, b in receiver.delivered() if RULE in b.decode()]
    assert verifies(secret, headers, body)
    sent = json.loads(body)
    assert "9200" in json.dumps(sent) and sent["type"] == "alert.firing"
    page.screenshot(path=artifacts / "alerts-admin.png", full_page=True)
    consumer.check_alive()
    context.close()
    assert errors == []


def test_an_office_manager_sees_the_rules_read_only_and_no_hooks(
        browser: Browser, running: Running) -> None:
    context, page, errors = _alerts_page(browser, running, MANAGER, Role.OFFICE_MANAGER)
    page.wait_for_selector('tr[data-rule-id] >> text="account locked"')
    for control in ("#new-rule", "[data-edit-rule]", "[data-toggle-rule]", "#new-hook",
                    "[data-hook-id]"):
        assert page.query_selector(control) is None, control
    rule = {"name": "sneaky", "kind": "threshold", "metric": "locked", "threshold": 1}
    assert page.evaluate(POST_RULE, rule) == 403
    context.close()
    assert errors == []
