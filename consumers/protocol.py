"""What a stage of the consumer is: the durable write, then the projection of what it committed.

The durable write (``consumers.durable``, PostgreSQL) stores each batch exactly
once and answers what it holds of it (``Committed``); the projection
(``consumers.projection`` behind ``consumers.guard``, the Redis read model)
gets that answer with the same batch and derives the read model from it. This
module holds their protocols, the write's result, the failures a stage raises,
the retry and the isolation of a record that fails.

A stage tells two kinds of failure apart. An outage of its server (connection
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
from datetime import datetime
from typing import Protocol, TypeVar

from consumers.batch import Accepted, Item, Rejected
from insights.events.kafka import Partition

log = logging.getLogger(__name__)
T = TypeVar("T")


class SinkUnavailable(RuntimeError):
    """The stage's server cannot be reached or refused for a transient reason; retry the
    batch later."""


class SinkStopped(RuntimeError):
    """The stage cannot go on until an operator acts; the message says what to do. The
    consumer stops with it (exit code 3) instead of writing wrong numbers."""


@dataclass
class WriteResult:
    """What a batch did: ``applied`` are the events whose effects were stored just now,
    ``replayed`` those of records below the stored offset whose copy was counted before
    (a replay: the projection may still lack them)."""

    applied: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    replayed: list[Accepted] = field(default_factory=list)

    def merge(self, other: WriteResult) -> WriteResult:
        return WriteResult(self.applied + other.applied, self.duplicates + other.duplicates,
                           self.skipped + other.skipped, self.rejected + other.rejected,
                           self.replayed + other.replayed)

    def committed(self) -> Committed:
        """The projection's input: the records of the batch whose events PostgreSQL holds."""
        counted: dict[Partition, set[int]] = {}
        for a in (*self.applied, *self.replayed):
            counted.setdefault((a.record.topic, a.record.partition), set()).add(a.record.offset)
        return Committed({where: frozenset(offsets) for where, offsets in counted.items()})


@dataclass(frozen=True)
class Committed:
    """What the durable write holds of one batch: per partition, the offsets of the records
    whose event it counted (applied now or by an earlier run). A producer's duplicate
    (same id, another offset), a conflicting session or view and a dead letter are not
    in it. Small and picklable: it travels with the batch to the projection's process."""

    counted: dict[Partition, frozenset[int]] = field(default_factory=dict)
    every: bool = False  # every accepted item, whatever ``counted`` says

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, Accepted):
            return False
        if self.every:
            return True
        offsets = self.counted.get((item.record.topic, item.record.partition))
        return offsets is not None and item.record.offset in offsets

    @staticmethod
    def everything() -> Committed:
        """Every accepted item counted (a rebuild replays only stored events)."""
        return Committed(every=True)


class DurableWrite(Protocol):
    """The first stage: stores a batch exactly once with its offsets (PostgreSQL)."""

    name: str

    def write(self, items: Sequence[Item], now: datetime) -> WriteResult: ...

    def close(self) -> None: ...


class Projection(Protocol):
    """The second stage: brings the read model up to what the durable write committed."""

    name: str

    def prepare(self, now: datetime) -> None:
        """Make the read model ready before the first batch (``SinkUnavailable``: try
        again; ``SinkStopped``: an operator must act)."""
        ...

    def write(self, items: Sequence[Item], committed: Committed, now: datetime
              ) -> WriteResult: ...

    def tick(self, now: datetime) -> int:
        """Time-driven work (midnight, lock expiry); returns how many users were re-scored."""
        ...

    def close(self) -> None: ...


Stage = DurableWrite | Projection


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
    """Call ``attempt`` until the stage answers, backing off from 0.2 s to ``cap_s``.

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
