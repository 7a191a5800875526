"""Browser tests: Debian's Chromium driven by Playwright (no browser download), against
``insights serve`` and ``insights consume`` child processes on the real servers."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from insights.settings import Settings
from tests.web_server import WebServer, free_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium not found: `make browser` installs Debian's chromium package")
    return found


# Module scope: Playwright's sync API keeps an event loop running in this thread while
# it is open, and later tests call asyncio.run().
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/e2e``, kept by CI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def web_server(settings: Settings, tmp_path: Path) -> Iterator[WebServer]:
    """``insights serve`` for this test's settings on a free port."""
    server = WebServer(settings, tmp_path / "web.log").start()
    yield server
    server.stop()


@pytest.fixture
def web_url(web_server: WebServer) -> str:
    return web_server.url


@pytest.fixture
def foreign_url(tmp_path: Path) -> Iterator[str]:
    """Another origin (another port) serving an empty page: where a hostile page runs."""
    (tmp_path / "index.html").write_text("<!doctype html><title>elsewhere</title>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
