"""Record batches the Kafka client cannot decode, turned into records that say so.

kafka-python decodes a fetched record batch (decompression, CRC, record framing)
inside ``poll``; a batch it cannot decode (a codec whose library is missing, a
corrupt or hostile payload) raises there, before any offset moves, so the
consumer would fail on the same batch at every start. ``TolerantPartitionRecords``
decodes each batch up front instead: a batch that fails becomes one record per
offset it covers, each carrying an ``Undecodable`` verdict in place of its
checksum (a field producers cannot set), so the batch flows through the
pipeline like any other and is dead-lettered by offset in the same transaction
that moves the offsets past it. The first of those records carries the raw
batch, so nothing is lost.

This is the one place that reaches into kafka-python's fetcher (its
``PartitionRecords`` class, kafka-python 3.0): ``insights.events.kafka`` installs it on
its consumer. The integration tests cover it with a codec made unavailable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka.consumer.fetcher import Fetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Undecodable:
    """Why the records of a batch could not be decoded: a reason code and its detail."""

    reason: str
    detail: str


@dataclass(frozen=True)
class _Placeholder:
    """What the fetcher reads of a record, for one offset of a batch that failed."""

    offset: int
    value: bytes
    checksum: Undecodable
    timestamp: int = -1
    timestamp_type: int = 0
    key: None = None
    headers: tuple[()] = ()
    size_in_bytes: int = 0

    def validate_crc(self) -> bool:
        return True


class _Decoded:
    """A batch decoded ahead of the fetcher: its records, or placeholders for them."""

    def __init__(self, batch: Any, first: int) -> None:
        self._batch = batch
        self._records = list(_decode(batch, first))

    def __getattr__(self, name: str) -> Any:      # header fields: offsets, producer, control
        return getattr(self._batch, name)

    def validate_crc(self) -> bool:
        return True                                # checked in ``_decode``

    def __iter__(self) -> Iterator[Any]:
        return iter(self._records)


def _decode(batch: Any, first: int) -> Iterator[Any]:
    """The batch's records; placeholders from ``first`` on when it cannot be decoded."""
    try:
        if batch.magic == 2 and not batch.validate_crc():
            raise ValueError("the batch failed its CRC check")
        records = list(batch)
        if batch.magic < 2 and not all(record.validate_crc() for record in records):
            raise ValueError("a record failed its CRC check")
        return iter(records)
    except Exception as exc:        # any failure of the codec or the framing: this batch only
        end = batch.next_offset
        verdict = Undecodable("undecodable", f"record batch at offsets {batch.base_offset}.."
                              f"{end - 1} could not be decoded: {type(exc).__name__}: {exc}")
        log.error("dead-lettering a Kafka record batch: %s", verdict.detail)
        raw = bytes(getattr(batch, "_buffer", b""))
        start = max(first, batch.base_offset)
        return iter([_Placeholder(offset, raw if offset == start else b"", verdict)
                     for offset in range(start, end)])


class _Unframed:
    """Stands for the rest of a fetched buffer whose batch framing cannot be read: one
    placeholder at the next offset, so the consumer moves on one offset at a time."""

    magic = 2
    is_control_batch = False
    leader_epoch = -1

    def __init__(self, offset: int, exc: Exception) -> None:
        self.next_offset = offset + 1
        verdict = Undecodable("undecodable", f"record batch framing at offset {offset} "
                              f"could not be read: {type(exc).__name__}: {exc}")
        log.error("dead-lettering a Kafka record: %s", verdict.detail)
        self._records = [_Placeholder(offset, b"", verdict)]

    def has_producer_id(self) -> bool:
        return False

    def validate_crc(self) -> bool:
        return True

    def __iter__(self) -> Iterator[Any]:
        return iter(self._records)


class _Batches:
    """A fetched buffer's batches, each decoded before the fetcher iterates it."""

    def __init__(self, records: Any, owner: Fetcher.PartitionRecords) -> None:
        self._records, self._owner, self._broken = records, owner, False

    def next_batch(self) -> Any:
        if self._broken:
            return None
        try:
            batch = self._records.next_batch()
        except Exception as exc:
            self._broken = True
            return _Unframed(self._owner.next_fetch_offset, exc)
        if batch is None or (batch.magic == 2 and batch.is_control_batch):
            return batch                # transaction markers are the broker's own
        return _Decoded(batch, self._owner.fetch_offset)


class TolerantPartitionRecords(Fetcher.PartitionRecords):  # type: ignore[misc]
    """kafka-python's fetched records of one partition, with undecodable batches turned
    into placeholder records instead of an exception."""

    def _unpack_records(self, tp: Any, records: Any, key_deserializer: Any,
                        value_deserializer: Any) -> Iterator[Any]:
        return super()._unpack_records(  # type: ignore[no-any-return]
            tp, _Batches(records, self), key_deserializer, value_deserializer)


def install(consumer: Any) -> bool:
    """Make ``consumer`` (a ``KafkaConsumer``) read with ``TolerantPartitionRecords``;
    False when this kafka-python has no such hook (the consumer then reads as it was)."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "PartitionRecords"):
        log.warning("this kafka-python has no fetcher hook: a record batch it cannot decode "
                    "will stop polling instead of being dead-lettered")
        return False
    fetcher.PartitionRecords = TolerantPartitionRecords
    return True
