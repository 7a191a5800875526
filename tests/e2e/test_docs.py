"""``/docs`` in headless Chromium under the Content-Security-Policy every response carries:
Swagger UI starts from its own script file and lists the API, with no CSP violation."""

from __future__ import annotations

from playwright.sync_api import Browser


def test_swagger_ui_renders_the_api_under_the_csp(browser: Browser, web_url: str) -> None:
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(f"{web_url}/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Rendered only when the start script ran and /openapi.json was fetched.
    page.wait_for_selector("#operations-tabs-read_tab_api_tabs__tab__get", timeout=15000)
    assert page.locator(".opblock").count() >= 4
    assert page.locator(".info .title").inner_text().startswith("insights")
    # The documents' types are listed with the operations (web.documents.schema).
    models = page.locator("section.models").inner_text()
    assert [name for name in ("TabDocument", "ProblemsTab", "Profile", "LiveDocument",
                              "Freshness") if name not in models] == [], models[:300]
    violations = [m for m in messages if "Content Security Policy" in m]
    assert violations == [] and errors == []
    page.close()
