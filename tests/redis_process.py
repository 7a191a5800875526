"""A Redis server of one test's own (the embedded stack's valkey-server), to kill or freeze.

The suite's shared Redis must keep running for the other tests; this one lives
in the test's tmp dir on a port of its own, kept across restarts so the app's
URL stays right.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from harness.services import wait_for
from insights.stack.ports import pick_port
from insights.stack.valkey import Valkey


class RedisProcess:
    """``valkey-server`` in the foreground: start, kill, freeze (SIGSTOP), thaw, close."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = pick_port()
        self.url = Valkey().url(self.port)
        self.process: subprocess.Popen[bytes] | None = None
        self._frozen = False

    def start(self) -> RedisProcess:
        """Start it (again, on the same port) and wait until it answers PING."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / "log").open("ab") as log:
            self.process = subprocess.Popen(Valkey().argv(self.home, self.port),
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: Valkey().probe(self.port), 30, f"valkey on port {self.port}")
        return self

    def kill(self) -> None:
        """SIGKILL: connections are reset, the data is gone (no persistence)."""
        assert self.process is not None
        self.thaw()
        self.process.kill()
        self.process.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and the kernel accepts bytes, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        if self.process is not None and self._frozen:
            self.process.send_signal(signal.SIGCONT)
            self._frozen = False

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
