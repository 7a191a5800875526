"""Browser tests: Debian's Chromium driven by Playwright (no browser download), against
``insights serve`` and ``insights consume`` child processes on the real servers."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from insights.settings import Settings
from tests.services import environment

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"web app exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"web app not answering at {url}:\n{log.read_text()[-3000:]}")


class WebServer:
    """``insights serve`` as a child process on a fixed port, to be restarted."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = environment(settings.model_copy(update={"live_interval_ms": 100}))
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> WebServer:
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "insights", "serve", "--port", str(self.port)],
                env=self._env, stdout=out, stderr=subprocess.STDOUT)
        _wait_http(f"{self.url}/healthz", self._process, self._log)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(30)


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
