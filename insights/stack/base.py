"""What the launcher needs to know about one embedded server."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import ClassVar


class StackError(RuntimeError):
    """An embedded server could not be started or stopped."""


class Server:
    """One embedded server; subclasses fill in the specifics.

    ``home`` is the server's directory under the state dir (``STATE/<name>``);
    its output goes to ``home / "log"``.
    """

    name: ClassVar[str]
    #: (signal, grace seconds) steps of an orderly stop, then of a simulated crash.
    stop_steps: ClassVar[tuple[tuple[int, float], ...]] = (
        (signal.SIGTERM, 10.0),
        (signal.SIGKILL, 5.0),
    )
    crash_steps: ClassVar[tuple[tuple[int, float], ...]] = ((signal.SIGKILL, 5.0),)

    def home(self, state_dir: Path) -> Path:
        """The server's directory under the state dir."""
        return state_dir / self.name

    def log_path(self, state_dir: Path) -> Path:
        """Where the server's output goes."""
        return self.home(state_dir) / "log"

    def run_as(self) -> str | None:
        """System user to run the server as (None: the current user)."""
        return None

    def prepare(self, home: Path) -> None:
        """Make ``home`` ready for a start (create directories, initialise data)."""
        home.mkdir(parents=True, exist_ok=True)

    def argv(self, home: Path, port: int) -> list[str]:
        """The server's command line."""
        raise NotImplementedError

    def probe(self, port: int) -> bool:
        """True once the server answers real requests on ``port``."""
        raise NotImplementedError

    def finish(self, port: int) -> None:
        """One-off setup after the server first answers (e.g. create a database)."""

    def url(self, port: int) -> str:
        """The URL clients use."""
        raise NotImplementedError
