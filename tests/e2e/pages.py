"""What the browser tests do on the dashboard's pages: log in, open a tab, a desktop page
that collects its script errors."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.web_clients import PASSWORD


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    page.click('#login-form button[type="submit"]')


def open_tab(page: Page, tab: str) -> None:
    page.click(f'#tabs [data-tab="{tab}"]')
    page.wait_for_selector(f'#tab-panel[data-tab="{tab}"][data-loaded="1"]')


def desktop(browser: Browser, **options: Any) -> tuple[BrowserContext, Page, list[str]]:
    """A desktop-sized page (``options`` for its context), and the list its script errors
    are collected into."""
    context = browser.new_context(**{"viewport": {"width": 1366, "height": 860}, **options})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def signed_in(browser: Browser, base: str, email: str, **options: Any
              ) -> tuple[BrowserContext, Page, list[str]]:
    """A desktop page (``options`` for the context: a colour scheme, say) logged in as
    ``email`` on the dashboard, and the list its script errors are collected into."""
    context, page, errors = desktop(browser, **options)
    log_in(page, base, email)
    page.wait_for_url(f"{base}/")
    return context, page, errors
