"""axe-core (vendored: ``tests/e2e/vendor``, MPL-2.0) on every page of the dashboard, at
desktop and phone width, light and dark: no serious or critical violation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.e2e.pages import log_in
from tests.e2e.sites import MANAGER, simulated_site

AXE = Path(__file__).parent / "vendor" / "axe-4.10.2.min.js"
VIEWS = ("#/problems", "#/engagement?period=month", "#/pages", "#/paths", "#/overview",
         "#/alerts")
SIZES = {"desktop": {"width": 1366, "height": 860}, "phone": {"width": 390, "height": 844}}
RUN = """() => axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations
  .filter((v) => v.impact === 'serious' || v.impact === 'critical')
  .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))})))"""


def _violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_or_critical_violation_on_any_page(
        browser: Browser, web_url: str, settings: Settings, emitter: Emitter,
        consumer_process: Callable[[], ConsumerProcess], *, scheme: str,
        artifacts: Path) -> None:
    simulated_site(settings, emitter, consumer_process, users=12, days=8, seed=4)
    found: dict[str, list[dict[str, Any]]] = {}
    for size, viewport in SIZES.items():
        # axe is injected as a script: the page's CSP allows only its own.
        context = browser.new_context(viewport=viewport, color_scheme=scheme,  # type: ignore[arg-type]
                                      bypass_csp=True)
        page = context.new_page()
        page.goto(f"{web_url}/login")
        found[f"{size} login"] = _violations(page)
        log_in(page, web_url, MANAGER)
        page.wait_for_url(f"{web_url}/")
        uid = ""
        for view in VIEWS:
            page.goto(f"{web_url}/{view}")
            page.wait_for_selector('#tab-panel[data-loaded="1"]')
            found[f"{size} {view}"] = _violations(page)
            if view.startswith("#/engagement"):
                uid = page.get_attribute("#tab-panel tr[data-user-id]", "data-user-id") or ""
        page.goto(f"{web_url}/#/users/{uid}")
        page.wait_for_selector('#profile[data-loaded="1"]')
        found[f"{size} profile"] = _violations(page)
        context.close()
    failed = {where: v for where, v in found.items() if v}
    (artifacts / f"axe-{scheme}.json").write_text(json.dumps(failed, indent=1))
    assert failed == {}
