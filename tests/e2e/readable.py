"""What the browser tests check for a readable dashboard: one number and date format per
language, column labels with their window, charts with their data as tables, and a phone
layout without page-level horizontal scroll."""

from __future__ import annotations

from typing import Any, Final

from playwright.sync_api import Page

#: The page's own formatters (the module the dashboard runs), on fixed values.
FORMATS: Final = """() => import('/static/format.js').then((f) => [
  f.fmtInt(1234), f.fmtInt(1234567), f.fmtNum(1234.5, 1), f.fmtDate('2026-03-05')])"""
NBSP: Final = "\u00a0"
EXPECTED_FORMATS: Final = {
    "en": ["1,234", "1,234,567", "1,234.5", "5 Mar 2026"],
    "pl": [f"1{NBSP}234", f"1{NBSP}234{NBSP}567", f"1{NBSP}234,5", "5 mar 2026"],
}
#: Numbers printed raw (a run of 4 digits or more) in numeric places, and ISO dates
#: anywhere in the view's visible text.
RAW: Final = r"""(root) => {
  const el = document.querySelector(root);
  const numeric = [...el.querySelectorAll('.num, [data-stat], td.num')]
    .map((n) => n.textContent).filter((text) => /\d{4,}/.test(text));
  const iso = (el.innerText.match(/\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?/g) || []);
  return {numeric: numeric.slice(0, 5), iso: iso.slice(0, 5)};
}"""
#: The windows' words per language (i18n.js ``window.*``).
WINDOWS: Final = {"en": {"week": "7 days", "month": "30 days", "current": "current"},
                  "pl": {"week": "7 dni", "month": "30 dni", "current": "bieżący stan"}}
HEADERS: Final = """(root) => [...document.querySelectorAll(
  `${root} table.data:not(.chart-data) th`)].map((th) => th.textContent)"""
WIDTHS: Final = """() => ({page: document.documentElement.scrollWidth,
  screen: document.documentElement.clientWidth,
  heatmap: [...document.querySelectorAll('.heatmap-wrap')]
    .map((w) => w.scrollWidth - w.clientWidth)})"""
CHART_TABLES: Final = """() => [...document.querySelectorAll('.chart-table')].map((d) => ({
  summary: d.querySelector('summary').textContent,
  rows: [...d.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)),
  canvas: d.parentElement.querySelector('canvas') ?
    d.parentElement.querySelector('canvas').getAttribute('aria-label') : null}))"""


def format_problems(page: Page, root: str) -> dict[str, list[str]]:
    """Raw numbers and ISO dates on the view under ``root`` (both lists empty when none)."""
    found: dict[str, list[str]] = page.evaluate(RAW, root)
    return found


def formats(page: Page) -> list[str]:
    """The page's formatters on 1234, 1234567, 1234.5 and 2026-03-05."""
    shown: list[str] = page.evaluate(FORMATS)
    return shown


def headers(page: Page, root: str = "#tab-panel") -> list[str]:
    """The column headers of the view's tables (not the charts'), as shown."""
    found: list[str] = page.evaluate(HEADERS, root)
    return found


def widths(page: Page) -> dict[str, Any]:
    """The page's scroll width against the screen's, and each heatmap's overflow."""
    found: dict[str, Any] = page.evaluate(WIDTHS)
    return found


def chart_tables(page: Page) -> list[dict[str, Any]]:
    """Each chart's data table: its disclosure's text, its rows' cells and the chart's name."""
    found: list[dict[str, Any]] = page.evaluate(CHART_TABLES)
    return found
