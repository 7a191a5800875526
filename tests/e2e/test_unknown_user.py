"""A profile while it is first fetched shows a loading indicator (aria-busy); the profile of
an id that is no tracked user is one "no such user" page, and the connection badge stays
honest: nothing is live there, and nothing is down either."""

from __future__ import annotations

from playwright.sync_api import Browser, Route, WebSocketRoute

from insights.settings import Settings
from tests.e2e.pages import signed_in
from tests.e2e.sites import MANAGER
from tests.web_clients import make_account
from web.auth.accounts import Role

NO_USER = '#profile[data-missing="1"] [data-no-user="{id}"]'


def test_loading_then_one_no_such_user_page_with_an_honest_connection_state(
        browser: Browser, web_url: str, settings: Settings) -> None:
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
    context, page, errors = signed_in(browser, web_url, MANAGER)
    page.wait_for_selector('#tab-panel[data-loaded="1"]')
    page.wait_for_selector('#conn-state[data-state="open"]')

    # The profile's fetch held, and its socket answered by nobody: the view is loading.
    held: list[Route] = []
    sockets: list[WebSocketRoute] = []

    def hold(route: Route) -> None:
        held.append(route)

    def mute(socket: WebSocketRoute) -> None:    # not connected to the server: silent
        sockets.append(socket)

    page.route("**/api/users/999999", hold)
    page.route_web_socket("**/ws/users/999999*", mute)
    page.goto(f"{web_url}/#/users/999999")
    page.wait_for_selector('#profile[aria-busy="true"] > .loading[role="status"]')
    while not held:                              # the fetch reaches its handler
        page.wait_for_timeout(50)
    assert page.get_attribute("#profile", "data-loaded") == "0"
    assert page.is_visible("#profile .loading")
    assert page.text_content("#profile .loading") == "Loading…"
    held[0].continue_()                          # the server's answer: 404

    page.wait_for_selector(NO_USER.format(id=999999))
    assert page.get_attribute("#profile", "aria-busy") is None
    assert page.query_selector("#profile .loading") is None
    # One page: its heading and text, no empty profile and no error notice around it.
    assert page.text_content("#profile h1") == "No such user"
    assert "999999" in (page.text_content("#profile") or "")
    assert page.query_selector_all("#profile .profile, #profile .notice") == []
    # Nothing to watch: not live, not "Offline" (the server is up), nothing to pause.
    assert page.get_attribute("#conn-state", "data-state") == "idle"
    assert page.text_content("#conn-state") == "Not live"
    assert page.get_attribute("#freshness", "data-level") == "unknown"
    assert page.is_hidden("#live-toggle")

    # With the real socket too (the server closes it: no such user), the same page.
    page.unroute_all()
    page.goto(f"{web_url}/#/users/999998")
    page.wait_for_selector(NO_USER.format(id=999998))
    page.wait_for_selector('#conn-state[data-state="idle"]')
    assert page.get_attribute("#freshness", "data-level") == "unknown"

    page.click('#profile [data-back="1"]')          # back to a tab: live again
    page.wait_for_selector('#tab-panel[data-loaded="1"]')
    page.wait_for_selector('#conn-state[data-state="open"]')
    assert page.is_visible("#live-toggle")
    context.close()
    assert errors == []
