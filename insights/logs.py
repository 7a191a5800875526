"""Logging set-up for the command-line entry points."""

from __future__ import annotations

import logging


def configure(level: str = "INFO") -> None:
    """One line per record on stderr, with time, level and logger name."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # kafka-python logs every reconnect attempt at WARNING/ERROR while a broker is down.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
