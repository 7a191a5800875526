"""The header's user search in headless Chromium: "/" from any tab, a surname's beginning,
the keyboard through the matches, Enter to the profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Browser

from harness.services import ConsumerProcess, query
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import desktop, log_in, open_tab
from tests.read_model import simulate, wait_ingested
from tests.web_clients import make_account
from web.auth.accounts import Role

MANAGER = "office@corp.io"


def test_a_user_is_found_by_keyboard_from_any_tab(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    sent = simulate(emitter, datetime.now(UTC), users=12, days=2, seed=8)
    consumer = consumer_process().start()
    wait_ingested(settings, sent, check=consumer.check_alive)
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
    (uid, name), = query(settings.postgres_url or "", "SELECT id, name FROM users WHERE"
                                                      " name LIKE '%% %%' ORDER BY id LIMIT 1")
    surname = str(name).split()[-1]

    context, page, errors = desktop(browser)
    log_in(page, web_url, MANAGER)
    page.wait_for_url(f"{web_url}/")
    open_tab(page, "pages")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "user-search"
    page.keyboard.type(surname[:4])
    option = page.wait_for_selector(f'#user-matches [role="option"]:has-text("{name}")')
    assert option is not None
    assert page.get_attribute("#user-search", "aria-expanded") == "true"
    for _ in range(10):               # the keyboard walks the list down to the user
        if page.get_attribute("#user-search", "aria-activedescendant") == option.get_attribute(
                "id"):
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{web_url}/#/users/{uid}")
    page.wait_for_selector('#profile[data-loaded="1"]')
    assert name in (page.text_content("#profile") or "")
    assert page.is_hidden("#user-matches")

    page.keyboard.press("/")
    page.keyboard.type("no such user at all")
    page.wait_for_selector("#user-matches .match-none")
    page.keyboard.press("Escape")
    assert page.is_hidden("#user-matches")
    context.close()
    assert errors == []
