"""Logging set-up for the command-line entry points."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler


def configure(level: str = "INFO") -> None:
    """One line per record on stderr; through rich on a terminal (so progress bars stay whole)."""
    if sys.stderr.isatty():
        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False,
                                               log_time_format="%H:%M:%S")
        fmt = "%(name)s: %(message)s"
    else:
        handler = logging.StreamHandler()
        fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # kafka-python logs every reconnect attempt at WARNING/ERROR while a broker is down.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    # ...and its I/O loop warns whenever one of its steps took over 0.1 s, which on a busy
    # machine (the demo's processes sharing two cores) is often and says nothing to act on.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
