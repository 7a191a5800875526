"""What every sink is: the protocol, its write result, its transient failure, the retry, and
the isolation of a record that fails.

A sink tells two kinds of failure apart. An outage of its server (connection
lost, timeout, a server busy or refusing for now) raises ``SinkUnavailable``:
the whole batch is retried later, nothing is dead-lettered. Any other failure
while applying a batch is put down to one of its records: ``isolate`` halves the
batch (keeping each partition's offset order) until the failing record is
alone, dead-letters it and applies the rest. A record is never dead-lettered
for a failure it does not cause when applied alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from consumers.batch import Accepted, Item, Rejected
from insights.events.kafka import Partition

log = logging.getLogger(__name__)
T = TypeVar("T")


class SinkUnavailable(RuntimeError):
    """The sink cannot be reached or refused for a transient reason; retry the batch later."""


class SinkStopped(RuntimeError):
    """The sink cannot go on until an operator acts; the message says what to do. The
    consumer stops with it (exit code 3) instead of writing wrong numbers."""


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

    def prepare(self) -> None:
        """Make the sink ready before the first batch of any sink (``SinkUnavailable``:
        try again; ``SinkStopped``: an operator must act)."""
        ...

    def stored_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]: ...

    def write(self, items: Sequence[Item]) -> WriteResult: ...

    def close(self) -> None: ...


SinkFactory = Callable[[], Sink]
"""Builds a sink; must be picklable (e.g. ``functools.partial(PostgresSink, url)``)."""


Apply = Callable[[Sequence[Item]], WriteResult]
Reject = Callable[[Item, Exception], WriteResult]


def isolate(items: Sequence[Item], apply: Apply, reject: Reject) -> WriteResult:
    """``apply(items)``; when it fails other than by ``SinkUnavailable``, apply each half
    in turn (first half first, so every partition's records keep their order) down to
    the single record that fails, which ``reject`` dead-letters with the exception."""
    try:
        return apply(items)
    except SinkUnavailable:
        raise
    except Exception as exc:
        if len(items) == 1:
            log.warning("dead-lettering %s/%d@%d: %s: %s", items[0].record.topic,
                        items[0].record.partition, items[0].record.offset,
                        type(exc).__name__, exc)
            return reject(items[0], exc)
        half = len(items) // 2
        return isolate(items[:half], apply, reject).merge(isolate(items[half:], apply, reject))


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
