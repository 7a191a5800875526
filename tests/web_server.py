"""``insights serve`` as a child process: the real server (uvicorn, its timeouts, its
sockets) on a free port, for tests that need more than the in-process TestClient."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx2

from harness.services import environment
from insights.settings import Settings
from web.auth.accounts import Role, create_token
from web.engine import create_engine


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

    def api(self, settings: Settings, timeout_s: float = 2.0) -> httpx2.Client:
        """An HTTP client of the server, with an ADMIN's API token (created now)."""
        engine = create_engine(settings.postgres_url or "", pool_size=1)
        token = create_token(engine, "ops@corp.io", Role.ADMIN)[0]
        engine.dispose()
        return httpx2.Client(base_url=self.url, timeout=timeout_s,
                             headers={"Authorization": f"Bearer {token}"})

    def log(self) -> str:
        """What the server wrote so far (for failure messages)."""
        return self._log.read_text(errors="replace")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(30)
