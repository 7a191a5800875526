"""Batches: records gathered by size and time, decoded into accepted events and dead letters."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from insights.events import contract
from insights.events.kafka import Partition, Record
from insights.events.undecodable import Undecodable


class Accepted(NamedTuple):
    record: Record
    event: contract.Event


class Rejected(NamedTuple):
    record: Record
    reason: str
    detail: str


Item = Accepted | Rejected


def decode(records: Iterable[Record], *, now: datetime, max_bytes: int,
           max_future_s: float) -> list[Item]:
    """Validate every record on its own; order is kept (per partition it is offset order).

    Whatever one record does, it is judged alone: a record the Kafka client could not
    decode, one that breaks the contract, and one whose decoding fails in a way the
    code did not foresee (``unprocessable``) each become a ``Rejected`` item.
    """
    items: list[Item] = []
    for record in records:
        if record.failure is not None:
            items.append(Rejected(record, record.failure.reason, record.failure.detail))
            continue
        try:
            verdict = contract.decode(record.value, now=now, max_bytes=max_bytes,
                                      max_future_s=max_future_s)
        except Exception as exc:      # a defect, not the batch's: this record only
            items.append(unprocessable(record, exc))
            continue
        if isinstance(verdict, contract.Invalid):
            items.append(Rejected(record, verdict.reason, verdict.detail))
        else:
            items.append(Accepted(record, verdict))
    return items


def decode_counted(records: Iterable[Record], counted: Mapping[Partition, Set[int]], *,
                   now: datetime, max_bytes: int, max_future_s: float) -> list[Item]:
    """``decode``'s items, for a batch of which an earlier stage accepted and counted the
    records at ``counted`` (per partition, their offsets).

    Those are decoded without the whole-message checks (``contract.decode_accepted``),
    which give the same event for the same value; every other record, and any
    counted one that does not decode so, is judged in full by ``decode``.
    """
    items: list[Item] = []
    for record in records:
        offsets = counted.get((record.topic, record.partition))
        if record.failure is None and offsets is not None and record.offset in offsets:
            try:
                items.append(Accepted(record, contract.decode_accepted(record.value)))
                continue
            except Exception:          # a defect or a value not accepted: judged in full below
                pass
        items += decode((record,), now=now, max_bytes=max_bytes, max_future_s=max_future_s)
    return items


#: Reason of a record whose processing failed in a way the code did not foresee.
UNPROCESSABLE = "unprocessable"


def unprocessable(record: Record, exc: BaseException, where: str = "") -> Rejected:
    """``record`` dead-lettered for an unforeseen failure: the exception's type and message."""
    text = " ".join(str(exc).split())[:500]
    detail = f"{where}{type(exc).__name__}: {text}" if text else f"{where}{type(exc).__name__}"
    return Rejected(record, UNPROCESSABLE, detail)


def next_offsets(items: Sequence[Item]) -> dict[Partition, int]:
    """Per partition, the offset after the last record of ``items``."""
    return record_offsets([item.record for item in items])


def record_offsets(records: Sequence[Record]) -> dict[Partition, int]:
    """Per partition, the offset after the last of ``records``."""
    offsets: dict[Partition, int] = {}
    for r in records:
        key = (r.topic, r.partition)
        offsets[key] = max(offsets.get(key, 0), r.offset + 1)
    return offsets


@dataclass(frozen=True)
class Packed:
    """A batch's records as columns, for the trip to a writer process: pickling a list of
    ``Record`` calls Python once per record (a NamedTuple's ``__getnewargs__``), about
    fifteen times the cost of pickling these lists."""

    topics: list[str]
    partitions: list[int]
    offsets: list[int]
    keys: list[bytes | None]
    values: list[bytes]
    timestamps: list[int]
    failures: dict[int, Undecodable]          # by position, for the few that have one

    @staticmethod
    def of(records: Sequence[Record]) -> Packed:
        return Packed([r.topic for r in records], [r.partition for r in records],
                      [r.offset for r in records], [r.key for r in records],
                      [r.value for r in records], [r.timestamp_ms for r in records],
                      {i: r.failure for i, r in enumerate(records) if r.failure is not None})

    def records(self) -> list[Record]:
        records = list(map(Record, self.topics, self.partitions, self.offsets, self.keys,
                           self.values, self.timestamps))
        for i, failure in self.failures.items():
            records[i] = records[i]._replace(failure=failure)
        return records


@dataclass
class Pending:
    """Records polled but not yet written; flushed when full or old enough."""

    max_size: int
    linger_s: float
    records: list[Record] = field(default_factory=list)
    started: float = 0.0

    def add(self, records: list[Record]) -> None:
        if records and not self.records:
            self.started = time.monotonic()
        self.records.extend(records)

    def room(self) -> int:
        return max(0, self.max_size - len(self.records))

    def due(self) -> bool:
        if not self.records:
            return False
        return (len(self.records) >= self.max_size
                or time.monotonic() - self.started >= self.linger_s)

    def discard(self, partitions: Iterable[Partition]) -> int:
        """Drop the records of revoked partitions (their new owner re-reads them)."""
        gone = set(partitions)
        kept = [r for r in self.records if (r.topic, r.partition) not in gone]
        dropped = len(self.records) - len(kept)
        self.records = kept
        return dropped

    def take(self) -> list[Record]:
        records, self.records = self.records, []
        return records
