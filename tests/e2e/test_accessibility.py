"""axe-core (vendored: ``tests/e2e/vendor``, MPL-2.0) on every page of the dashboard, at
desktop and phone (375 px) width, light in English and dark in Polish: no serious or
critical violation. On the same pages, what makes them readable: one number and date
format per language, column labels with their window, each chart's data as a table kept
current by live updates, the profile's exports, and a phone layout with the important
columns first and nothing wider than the screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from harness.factories import event
from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import log_in
from tests.e2e.readable import (
    EXPECTED_FORMATS,
    WINDOWS,
    chart_tables,
    format_problems,
    formats,
    headers,
    widths,
)
from tests.e2e.sites import MANAGER, simulated_site

AXE = Path(__file__).parent / "vendor" / "axe-4.10.2.min.js"
VIEWS = ("#/problems", "#/engagement?period=month", "#/pages", "#/paths", "#/overview",
         "#/alerts")
SIZES = {"desktop": {"width": 1366, "height": 860}, "phone": {"width": 375, "height": 812}}
RUN = """() => axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations
  .filter((v) => v.impact === 'serious' || v.impact === 'critical')
  .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))})))"""
SHOW_TABLE = {"en": "Show as table", "pl": "Pokaż jako tabelę"}
CSV_HEADER = {"en": "User id", "pl": "ID użytkownika"}
# The heatmap's cells hold their counts (for assistive tech) in the page's format.
HEAT_COUNTS = """() => [...document.querySelectorAll('.hm-cell')]
  .every((c) => c.textContent.replace(/\\D/g, '') === c.dataset.count)"""
MINOR_SHOWN = """() => [...document.querySelectorAll('#tab-panel th.col-minor')]
  .map((th) => getComputedStyle(th).display !== 'none')"""


def _violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return found


def _unreadable(page: Page, root: str, phone: bool) -> list[str]:
    """What keeps the view under ``root`` from being read: raw numbers or ISO dates, and on
    a phone anything wider than the screen (the page, a heatmap)."""
    wrong = [f"{kind}: {found}" for kind, found in format_problems(page, root).items() if found]
    if phone:
        sizes = widths(page)
        if sizes["page"] > sizes["screen"] or any(sizes["heatmap"]):
            wrong.append(f"wider than the screen: {sizes}")
    return wrong


def _check_problems_tab(page: Page, lang: str, phone: bool) -> None:
    """Column labels say their window (semantics 5, 6); a phone shows the important
    columns and the others on request."""
    labels = headers(page)
    window = WINDOWS[lang]
    assert sum(window["week"] in label for label in labels) == 4      # score, 3 counts
    assert sum(window["month"] in label for label in labels) == 1     # password resets
    assert sum(window["current"] in label for label in labels) == 1   # failed logins
    toggle = "#tab-panel .cols-toggle"
    assert page.is_visible(toggle) is phone
    assert set(page.evaluate(MINOR_SHOWN)) == {not phone}
    if phone:
        page.click(toggle)
        assert page.get_attribute(toggle, "aria-pressed") == "true"
        assert set(page.evaluate(MINOR_SHOWN)) == {True}
        page.click(toggle)


def _today_sessions(page: Page) -> int:
    """The last row (today) of the daily chart's table: its sessions."""
    cell = page.text_content(".chart-table tbody tr:last-child td:nth-child(2)") or ""
    return int("".join(ch for ch in cell if ch.isdigit()) or "0")


def _check_overview(page: Page, lang: str, emitter: Emitter) -> None:
    """Each chart has its data as a table, named, in the page's format, kept current."""
    tables = chart_tables(page)
    assert len(tables) == 3 and all(t["summary"] == SHOW_TABLE[lang] and t["canvas"]
                                    for t in tables)
    assert len(tables[0]["rows"]) == 31                               # 30 days and today
    assert page.evaluate(HEAT_COUNTS)
    assert page.evaluate("() => Chart.getChart(document.querySelector('#tab-panel canvas'))"
                         ".options.locale") == {"en": "en-GB", "pl": "pl-PL"}[lang]
    page.click(".chart-table summary")                               # opened: it stays so
    before = _today_sessions(page)
    emitter.emit(event("session_start", datetime.now(UTC), session_id=f"chart-{lang}",
                       user_id=None))
    emitter.flush()
    page.wait_for_function(
        """(n) => Number((document.querySelector('.chart-table tbody tr:last-child'
             + ' td:nth-child(2)').textContent || '').replace(/\\D/g, '')) > n""",
        arg=before, timeout=30000)
    assert page.get_attribute(".chart-table", "open") == ""


def _check_profile(page: Page, lang: str, uid: str, base: str) -> None:
    """The trend and hourly charts as tables; the exports linked, in the page's language."""
    assert [len(t["rows"]) for t in chart_tables(page)] == [30, 24]
    csv_link = page.get_attribute('#profile a[data-export="user"]', "href")
    json_link = page.get_attribute('#profile a[data-export-json="user"]', "href")
    assert csv_link == f"/api/export/users/{uid}.csv?lang={lang}"
    assert json_link == f"/api/export/users/{uid}.json"
    csv = page.request.get(f"{base}{csv_link}")
    assert csv.status == 200 and csv.body().startswith(b"\xef\xbb\xbf")
    lines = csv.text().lstrip("\ufeff").splitlines()
    assert lines[0].startswith(f'"{CSV_HEADER[lang]}"')
    assert {line.split(",")[0] for line in lines[1:]} == {f'"{uid}"'}
    assert page.request.get(f"{base}{json_link}").json()["user"]["id"] == int(uid)


# Light in English at both widths; dark in Polish at the desktop width only: the dark
# theme's colours are the same at any width, and a run of every page costs ~12 s.
@pytest.mark.parametrize(("scheme", "lang", "sizes"), [("light", "en", ("desktop", "phone")),
                                                       ("dark", "pl", ("desktop",))])
def test_every_page_is_accessible_and_readable(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess], *, scheme: str, lang: str,
        sizes: tuple[str, ...], artifacts: Path) -> None:
    simulated_site(settings, emitter, consumer_process, users=12, days=8, seed=4)
    found: dict[str, list[dict[str, Any]]] = {}
    unreadable: dict[str, list[str]] = {}
    for size in sizes:
        viewport = SIZES[size]
        phone = size == "phone"
        # axe is injected as a script: the page's CSP allows only its own.
        context = browser.new_context(viewport=viewport, color_scheme=scheme,  # type: ignore[arg-type]
                                      bypass_csp=True)
        # The language as the page's switch keeps it.
        context.add_init_script(f"localStorage.setItem('insights.lang', '{lang}')")
        page = context.new_page()
        page.goto(f"{web_url}/login")
        found[f"{size} login"] = _violations(page)
        log_in(page, web_url, MANAGER)
        page.wait_for_url(f"{web_url}/")
        assert formats(page) == EXPECTED_FORMATS[lang]
        uid = ""
        for view in VIEWS:
            page.goto(f"{web_url}/{view}")
            page.wait_for_selector('#tab-panel[data-loaded="1"]')
            found[f"{size} {view}"] = _violations(page)
            unreadable[f"{size} {view}"] = _unreadable(page, "#tab-panel", phone)
            if view == "#/problems":
                _check_problems_tab(page, lang, phone)
            if view == "#/overview" and not phone:
                _check_overview(page, lang, emitter)
            if view.startswith("#/engagement"):
                uid = page.get_attribute("#tab-panel tr[data-user-id]", "data-user-id") or ""
        page.goto(f"{web_url}/#/users/{uid}")
        page.wait_for_selector('#profile[data-loaded="1"]')
        found[f"{size} profile"] = _violations(page)
        unreadable[f"{size} profile"] = _unreadable(page, "#profile", phone)
        if not phone:
            _check_profile(page, lang, uid, web_url)
        context.close()
    failed = {where: v for where, v in found.items() if v}
    (artifacts / f"axe-{scheme}.json").write_text(json.dumps(failed, indent=1))
    assert failed == {}
    assert {where: v for where, v in unreadable.items() if v} == {}
