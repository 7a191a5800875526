"""The consume loop: poll, batch, write every sink, then commit to Kafka.

Order of a flush (quix-streams' checkpoint order): every sink has the batch,
with its offsets, before anything is committed to Kafka. One batch at a time is
written by a writer thread while the main thread polls and decodes the next:
the sinks' server time overlaps the Kafka client's work (the client itself
stays on the main thread; kafka-python is not thread-safe). Where reading resumes
is decided by the sinks, not by Kafka: on assignment each partition is sought
to the lowest next-offset any sink stored, and each sink skips what it has.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Protocol, TypeVar

from consumers.batch import Item, Pending, decode, next_offsets
from consumers.metrics import Metrics
from consumers.postgres import SinkUnavailable, WriteResult
from insights.contract import event_type
from insights.kafka import EventConsumer, Partition, Rebalance
from insights.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class Sink(Protocol):
    """A store that applies batches exactly once and keeps its own Kafka offsets."""

    name: str

    def stored_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]: ...

    def write(self, items: Sequence[Item]) -> WriteResult: ...

    def close(self) -> None: ...


class Aborted(Exception):
    """A second stop signal arrived while a batch could not be written."""


class Pipeline:
    """One consumer: ``run()`` until ``stop()`` (the CLI wires SIGTERM/SIGINT to it)."""

    def __init__(self, settings: Settings, bootstrap: str, sinks: Sequence[Sink],
                 *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._sinks = sinks
        self._clock = clock
        self._pending = Pending(settings.batch_size, settings.batch_linger_ms / 1000)
        self._stops = 0
        self._consumer: EventConsumer | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-writer")
        self._inflight: tuple[list[Item], Future[None]] | None = None
        self.metrics = Metrics()

    def stop(self, *_: object) -> None:
        """Ask the loop to finish; a second call while a write is retrying aborts it."""
        self._stops += 1
        log.info("stop requested (%d)", self._stops)

    def run(self) -> int:
        """Consume until stopped; returns the process exit code."""
        self.metrics.serve(self._settings.metrics_port, self._settings.metrics_host)
        topics = list(self._settings.topics().values())
        self._consumer = EventConsumer(
            self._bootstrap, self._settings.consumer_group, topics,
            Rebalance(self._assigned, self._revoked),
            session_timeout_ms=self._settings.session_timeout_ms,
            max_poll_interval_ms=self._settings.max_poll_interval_ms)
        log.info("consuming %s as group %r", ", ".join(topics), self._settings.consumer_group)
        try:
            while not self._stops:
                self._step(self._consumer)
            self._flush()
            self._settle()
        except Aborted:
            log.error("aborted with a batch unwritten; it will be read again on restart")
            return 1
        finally:
            self._writer.shutdown(wait=True)
            self._consumer.close()
            for sink in self._sinks:
                sink.close()
        log.info("stopped cleanly")
        return 0

    def _step(self, consumer: EventConsumer) -> None:
        linger = self._settings.batch_linger_ms / 1000
        records = consumer.poll(timeout_s=min(linger, 0.5) if self._pending.records else 0.5,
                                max_records=max(1, self._pending.room()))
        for topic, n in Counter(r.topic for r in records).items():
            self.metrics.consumed.labels(topic).inc(n)
        self._pending.add(records)
        if self._pending.due():
            self._flush()
        elif self._inflight and self._inflight[1].done():
            self._settle()

    def _flush(self) -> None:
        """Decode the pending records and hand them to the writer (after the previous batch)."""
        records = self._pending.take()
        if not records:
            return
        s = self._settings
        items = decode(records, now=self._clock(), max_bytes=s.max_message_bytes,
                       max_future_s=s.max_future_seconds)
        self._settle()
        self._inflight = (items, self._writer.submit(self._write, items))

    def _write(self, items: list[Item]) -> None:
        """Writer thread: every sink takes the batch (retrying while one is unavailable)."""
        for sink in self._sinks:
            started = time.perf_counter()
            result = self._retry(sink.name, partial(sink.write, items))
            took = time.perf_counter() - started
            self.metrics.batch_seconds.labels(sink.name).observe(took)
            log.debug("%s took %d records in %.0f ms", sink.name, len(items), took * 1000)
            self._count(result)
        self.metrics.batch_size.observe(len(items))

    def _settle(self, *, commit: bool = True) -> None:
        """Wait until the batch being written is in every sink, then commit it to Kafka.

        Rebalance callbacks run on kafka-python's IO thread, where blocking client
        calls are refused: they settle with ``commit=False`` (the sinks hold the
        offsets; Kafka's copy is only for lag tools and catches up next batch).
        """
        if self._inflight is None or self._consumer is None:
            return
        items, future = self._inflight
        self._inflight = None
        waited = time.perf_counter()
        future.result()
        log.debug("batch of %d settled after %.0f ms waiting for the writer",
                  len(items), (time.perf_counter() - waited) * 1000)
        self.metrics.last_commit.set_to_current_time()
        if commit:
            self._consumer.commit(next_offsets(items))
            for (topic, partition), lag in self._consumer.lag().items():
                self.metrics.lag.labels(topic, str(partition)).set(lag)

    def _count(self, result: WriteResult) -> None:
        for type_, n in Counter(event_type(a.event) for a in result.applied).items():
            self.metrics.applied.labels(type_).inc(n)
        for reason, n in Counter(r.reason for r in result.rejected).items():
            self.metrics.rejected.labels(reason).inc(n)
        self.metrics.duplicates.inc(result.duplicates)
        self.metrics.skipped.inc(result.skipped)

    def _retry(self, sink: str, attempt: Callable[[], T]) -> T:
        """Call ``attempt`` until the sink takes it, backing off; nothing is committed meanwhile.

        One stop signal lets the batch finish; a second one gives up (``Aborted``).
        """
        delay = 0.2
        while True:
            try:
                return attempt()
            except SinkUnavailable as exc:
                self.metrics.sink_errors.labels(sink).inc()
                log.warning("%s unavailable, retrying in %.1f s: %s", sink, delay, exc)
            if self._stops >= 2:
                raise Aborted
            time.sleep(delay)
            delay = min(delay * 2, self._settings.retry_max_seconds)

    def _assigned(self, partitions: list[Partition]) -> None:
        """Seek each new partition to the lowest offset any sink still needs."""
        if self._consumer is None or not partitions:
            return
        self._settle(commit=False)
        stored = [self._retry(s.name, partial(s.stored_offsets, partitions))
                  for s in self._sinks]
        for partition in partitions:
            offsets = [found.get(partition) for found in stored]
            if None in offsets:
                self._consumer.seek_to_beginning(partition)
            else:
                self._consumer.seek(partition, min(o for o in offsets if o is not None))
        log.info("assigned %d partitions", len(partitions))

    def _revoked(self, partitions: list[Partition]) -> None:
        self._settle(commit=False)
        dropped = self._pending.discard(partitions)
        if dropped:
            log.info("revoked %d partitions; %d unwritten records left to their new owner",
                     len(partitions), dropped)
