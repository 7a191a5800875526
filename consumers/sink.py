"""What every sink is: the protocol, its write result, its transient failure, and the retry."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from consumers.batch import Accepted, Item, Rejected
from insights.kafka import Partition

log = logging.getLogger(__name__)
T = TypeVar("T")


class SinkUnavailable(RuntimeError):
    """The sink cannot be reached or refused for a transient reason; retry the batch later."""


@dataclass
class WriteResult:
    """What a batch did: ``applied`` are the events whose effects were stored just now."""

    applied: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def merge(self, other: WriteResult) -> WriteResult:
        return WriteResult(self.applied + other.applied, self.duplicates + other.duplicates,
                           self.skipped + other.skipped, self.rejected + other.rejected)


class Sink(Protocol):
    """A store that applies batches exactly once and keeps its own Kafka offsets."""

    name: str

    def stored_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]: ...

    def write(self, items: Sequence[Item]) -> WriteResult: ...

    def close(self) -> None: ...


SinkFactory = Callable[[], Sink]
"""Builds a sink; must be picklable (e.g. ``functools.partial(PostgresSink, url)``)."""


def retry(name: str, attempt: Callable[[], T], cap_s: float, *,
          failed: Callable[[], None] = lambda: None,
          checkpoint: Callable[[], None] = lambda: None) -> T:
    """Call ``attempt`` until the sink answers, backing off from 0.2 s to ``cap_s``.

    ``failed`` runs after each ``SinkUnavailable`` (metrics); ``checkpoint`` runs
    before each wait and may raise to give up.
    """
    delay = 0.2
    while True:
        try:
            return attempt()
        except SinkUnavailable as exc:
            failed()
            log.warning("%s unavailable, retrying in %.1f s: %s", name, delay, exc)
        checkpoint()
        time.sleep(delay)
        delay = min(delay * 2, cap_s)
