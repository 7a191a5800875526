"""The one module that uses the Kafka client (kafka-python); everything else uses these wrappers.

Records and partitions cross this boundary as plain tuples, so the rest of the
project never sees a kafka-python type. (``insights.events.undecodable`` is the hook
this module installs into the client's fetcher.)

The consumer reads committed records only (``read_committed``): records of a
producer's aborted transactions are never returned by Apache Kafka. Every codec a
producer may use (gzip, snappy, lz4, zstd) is decoded; a batch the client still
cannot decode arrives as records carrying their ``failure``, to be dead-lettered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as codecs
from kafka.admin import KafkaAdminClient
from kafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from insights.events import undecodable

log = logging.getLogger(__name__)

Partition = tuple[str, int]
"""(topic, partition number)."""


class Record(NamedTuple):
    """One consumed message; ``failure`` says why the client could not decode it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int
    failure: undecodable.Undecodable | None = None


#: The codecs a producer may compress record batches with, and whether each decodes here.
CODECS: Final[dict[str, Callable[[], bool]]] = {
    "gzip": codecs.has_gzip, "snappy": codecs.has_snappy, "lz4": codecs.has_lz4,
    "zstd": codecs.has_zstd,
}


def missing_codecs() -> list[str]:
    """The codecs whose libraries are not installed (batches using them are dead-lettered)."""
    return [name for name, available in CODECS.items() if not available()]


class Rebalance(NamedTuple):
    """Callbacks run inside ``poll`` when the group moves partitions."""

    assigned: Callable[[list[Partition]], None]
    revoked: Callable[[list[Partition]], None]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, rebalance: Rebalance) -> None:
        self._rebalance = rebalance

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._rebalance.assigned(sorted((tp.topic, tp.partition) for tp in assigned))

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self._rebalance.revoked(sorted((tp.topic, tp.partition) for tp in revoked))


class EventConsumer:
    """A group member over the given topics, auto-commit off; positions come from the sinks."""

    def __init__(self, bootstrap: str, group: str, topics: list[str], rebalance: Rebalance,
                 *, session_timeout_ms: int = 6000, max_poll_interval_ms: int = 30000,
                 fetch_max_bytes: int = 32 * 1024 * 1024) -> None:
        self._bootstrap = bootstrap.split(",")
        self._positions: KafkaConsumer | None = None     # see ``log_starts``
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(300, session_timeout_ms // 6),
            max_poll_interval_ms=max_poll_interval_ms,
            fetch_max_wait_ms=100,
            fetch_max_bytes=fetch_max_bytes,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            isolation_level="read_committed",
        )
        undecodable.install(self._consumer)
        missing = missing_codecs()
        if missing:
            log.error("no library for the %s codec(s): record batches compressed with them "
                      "will be dead-lettered (install kafka-python's extras)", ", ".join(missing))
        self._consumer.subscribe(topics, listener=_Listener(rebalance))

    def poll(self, timeout_s: float, max_records: int) -> list[Record]:
        """Fetch up to ``max_records`` records, in partition order per partition."""
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return [
            Record(m.topic, m.partition, m.offset, m.key, m.value or b"", m.timestamp,
                   m.checksum if isinstance(m.checksum, undecodable.Undecodable) else None)
            for messages in batches.values()
            for m in messages
        ]

    def seek(self, partition: Partition, offset: int) -> None:
        """Continue ``partition`` at ``offset`` (the next record to read)."""
        self._consumer.seek(TopicPartition(*partition), offset)

    def log_starts(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """The first offset each partition's log still keeps ({} when the broker does not
        say in time: the check that asks is skipped, with a warning). Asked through a
        client of its own: it is called from a rebalance listener, which runs on the group
        consumer's network thread, where that consumer must not block."""
        try:
            if self._positions is None:
                self._positions = KafkaConsumer(bootstrap_servers=self._bootstrap,
                                                enable_auto_commit=False)
            found = self._positions.beginning_offsets(
                [TopicPartition(*p) for p in partitions])
        except Exception as exc:           # a check that cannot run must not stop the rest
            log.warning("could not read where the partitions' logs start: %s", exc)
            return {}
        return {(tp.topic, tp.partition): int(o) for tp, o in found.items()}

    def seek_to_beginning(self, partition: Partition) -> None:
        """Read ``partition`` from its first retained record."""
        self._consumer.seek_to_beginning(TopicPartition(*partition))

    def commit(self, next_offsets: Mapping[Partition, int]) -> bool:
        """Record progress in Kafka for lag tools; best effort (the sinks hold the truth)."""
        offsets = {TopicPartition(*p): OffsetAndMetadata(o, "", -1)
                   for p, o in next_offsets.items()}
        try:
            self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            log.info("Kafka offset commit skipped (%s); sinks keep their own offsets", exc)
            return False
        return True

    def lag(self) -> dict[Partition, int]:
        """Records behind the high watermark, per assigned partition (known ones only)."""
        lags: dict[Partition, int] = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None:
                lags[(tp.topic, tp.partition)] = max(0, high - self._consumer.position(tp))
        return lags

    def assignment(self) -> list[Partition]:
        return sorted((tp.topic, tp.partition) for tp in self._consumer.assignment())

    def close(self) -> None:
        self._consumer.close(autocommit=False)
        if self._positions is not None:
            self._positions.close()


class EventProducer:
    """Sends encoded events; ``acks=all`` and idempotence so a retry never doubles a message."""

    def __init__(self, bootstrap: str, **config: Any) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            acks="all",
            linger_ms=20,
            batch_size=256 * 1024,
            **config,
        )

    def send(self, topic: str, key: str, value: bytes) -> None:
        self._producer.send(topic, key=key.encode(), value=value)

    def send_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Send arbitrary bytes (tests and tools that produce bad input on purpose)."""
        self._producer.send(topic, key=key, value=value)

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        self._producer.close()


def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        missing = sorted(set(names) - set(admin.list_topics()))
        if missing:
            try:
                admin.create_topics(
                    {name: {"num_partitions": partitions, "replication_factor": 1}
                     for name in missing},
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                log.info("topics were created concurrently: %s", missing)
        return missing
    finally:
        admin.close()

