"""How a long command stops: Ctrl-C, or SIGTERM (``docker stop``, systemd, Kubernetes),
ends it at once, with the queries it has running cancelled on the server."""

from __future__ import annotations

import signal
from types import FrameType

from insights import database


def stop_on_signals() -> None:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt``, in a PostgreSQL wait too
    (``insights.database.cancel_on_interrupt``). Called once PostgreSQL's schema is
    upgraded: an upgrade interrupted halfway is better finished than cancelled."""
    database.cancel_on_interrupt()
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
