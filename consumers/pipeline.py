"""The consume loop: poll, batch, hand to the stages' writer processes, then commit to Kafka.

Order of a flush (quix-streams' checkpoint order): both stages, the durable
write and then the projection of what it committed (``consumers.stages``),
have the batch, with its offsets, before anything is committed to Kafka.
Batches are decoded and written by one writer process per stage
(``consumers.processes``) while this process polls the next, so Kafka's client
and the stages do not share a GIL; the projection runs one batch behind the
write, so Kafka's commit does too. Where reading resumes is decided by the
stages, not by Kafka: on assignment each partition is sought to the lowest
next offset any stage stored (read by ``consumers.offsets``, no stage built
here), and each stage skips what it has.

This process stamps each batch with the one clock (``clock``): every stage
judges the batch, and dates what it writes, by that ``now``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from functools import partial

from consumers import offsets
from consumers.batch import Pending, record_offsets
from consumers.metrics import Metrics
from consumers.processes import Batch, WriterProcesses
from consumers.protocol import SinkStopped, retry
from consumers.stages import Stages
from consumers.writer import Summary, WriterLimits
from insights.events.kafka import EventConsumer, Partition, Rebalance
from insights.settings import Settings

log = logging.getLogger(__name__)
TICK_S = 1.0
#: Exit code of a consumer a stage stopped (``SinkStopped``: an operator must act).
STOPPED = 3
POLL_RETRY_S = 1.0

__all__ = ["Aborted", "Pipeline", "Stages"]


class Aborted(Exception):
    """A second stop signal arrived while a batch could not be written."""


class Pipeline:
    """One consumer: ``run()`` until ``stop()`` (the CLI wires SIGTERM/SIGINT to it)."""

    def __init__(self, settings: Settings, bootstrap: str, stages: Stages,
                 *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 report_lag: Callable[[dict[Partition, int]], None] | None = None) -> None:
        self._settings = settings
        self._bootstrap = bootstrap
        self._stages_of = stages
        self._clock = clock
        self._report_lag = report_lag
        self._pending = Pending(settings.batch_size, settings.batch_linger_ms / 1000)
        self._stops = 0
        self._consumer: EventConsumer | None = None
        self._stages: WriterProcesses | None = None
        self._uncommitted: dict[Partition, int] = {}
        self._last_tick = 0.0
        self._limits = WriterLimits(settings.max_message_bytes, settings.max_future_seconds,
                              settings.retry_max_seconds)
        self.metrics = Metrics()

    def stop(self, *_: object) -> None:
        """Ask the loop to finish; a second call while a write is retrying aborts it."""
        self._stops += 1
        log.info("stop requested (%d)", self._stops)

    def run(self) -> int:
        """Consume until stopped; returns the process exit code."""
        self.metrics.serve(self._settings.metrics_port, self._settings.metrics_host)
        refused = self._prepare()
        if refused is not None:
            return refused
        self._stages = WriterProcesses(self._stages_of, self._settings.log_level,
                                       self._limits, self._wait, self._count)
        topics = list(self._settings.topics().values())
        self._consumer = EventConsumer(
            self._bootstrap, self._settings.consumer_group, topics,
            Rebalance(self._assigned, self._revoked),
            session_timeout_ms=self._settings.session_timeout_ms,
            max_poll_interval_ms=self._settings.max_poll_interval_ms)
        log.info("consuming %s as group %r", ", ".join(topics), self._settings.consumer_group)
        aborted = False
        try:
            while not self._stops:
                self._step(self._consumer)
            self._flush()
            self._settle()
        except Aborted:
            aborted = True
            log.error("aborted with a batch unwritten; it will be read again on restart")
            return 1
        except SinkStopped as stopped:
            aborted = True
            log.error("stopped: %s", stopped)
            return STOPPED
        finally:
            self._stages.shutdown(wait=not aborted)
            self._consumer.close()
        log.info("stopped cleanly")
        return 0

    def _prepare(self) -> int | None:
        """Make the read model ready before consuming (``Stages.prepare``); the exit code
        if it never gets so."""
        prepare = self._stages_of.prepare
        if prepare is None:
            return None
        try:
            retry("projection", lambda: prepare(self._clock()),
                  self._settings.retry_max_seconds, checkpoint=self._give_up_on_second_stop)
        except (SinkStopped, Aborted) as stopped:
            log.error("stopped before consuming: %s", stopped or "stop requested")
            return STOPPED if isinstance(stopped, SinkStopped) else 1
        return None

    def _step(self, consumer: EventConsumer) -> None:
        linger = self._settings.batch_linger_ms / 1000
        try:
            records = consumer.poll(timeout_s=min(linger, 0.5) if self._pending.records else 0.5,
                                    max_records=max(1, self._pending.room()))
        except Exception:
            # Undecodable batches arrive as records (insights.events.undecodable); what is left is
            # the client's or the broker's trouble: keep the consumer up and try again.
            self.metrics.poll_errors.inc()
            log.exception("polling Kafka failed; trying again in %.1f s", POLL_RETRY_S)
            time.sleep(POLL_RETRY_S)
            records = []
        for topic, n in Counter(r.topic for r in records).items():
            self.metrics.consumed.labels(topic).inc(n)
        self._pending.add(records)
        if self._pending.due():
            self._flush()
        elif self._stages is not None and self._stages.busy():
            self._commit(self._stages.progress())
        self._tick()

    def _tick(self) -> None:
        """About once a second, let the projection do time-driven work (midnight, lock
        expiry) as of the clock's ``now``."""
        if self._stages is None or time.monotonic() - self._last_tick < TICK_S:
            return
        self._last_tick = time.monotonic()
        self._stages.tick(self._clock())
        if self._consumer is not None:
            # Idle consumers report too: "no lag" is news the dashboard needs. Measured
            # here, once a second, not after every commit: it walks every partition.
            lags = self._consumer.lag()
            for (topic, partition), lag in lags.items():
                self.metrics.lag.labels(topic, str(partition)).set(lag)
            if self._report_lag is not None:
                self._report_lag(lags)

    def _flush(self) -> None:
        """Stamp the pending records with the clock and hand them to the stages (after the
        previous batch)."""
        records = self._pending.take()
        if not records or self._stages is None:
            return
        batch = Batch(records, self._clock(), record_offsets(records))
        self._commit(self._stages.submit(batch))

    def _settle(self, *, commit: bool = True) -> None:
        """Wait until every batch handed to the stages is in both, then commit.

        Rebalance callbacks run on kafka-python's IO thread, where blocking client
        calls are refused: they settle with ``commit=False`` (the stages hold the
        offsets; Kafka's copy is only for lag tools and catches up next batch).
        """
        if self._stages is not None:
            self._commit(self._stages.settle(), now=commit)

    def _commit(self, complete: list[Batch], *, now: bool = True) -> None:
        """Commit the offsets of the complete batches (and any left from before)."""
        for batch in complete:
            for where, offset in batch.offsets.items():
                self._uncommitted[where] = max(offset, self._uncommitted.get(where, 0))
        if complete:
            self.metrics.last_commit.set_to_current_time()
        if not now or not self._uncommitted or self._consumer is None:
            return
        self._consumer.commit(self._uncommitted)
        self._uncommitted = {}

    def _wait(self, future: Future[Summary]) -> Summary:
        """The writer's answer; a second stop signal meanwhile gives up (``Aborted``)."""
        while True:
            try:
                return future.result(timeout=0.5)
            except FutureTimeout:
                if self._stops >= 2:
                    raise Aborted from None

    def _count(self, summary: Summary) -> None:
        m = self.metrics
        for type_, n in summary.applied.items():
            m.applied.labels(type_).inc(n)
        for reason, n in summary.rejected.items():
            m.rejected.labels(reason).inc(n)
        for sink, n in summary.failures.items():
            m.sink_errors.labels(sink).inc(n)
        for sink, seconds in summary.seconds.items():
            m.batch_seconds.labels(sink).observe(seconds)
        m.duplicates.inc(summary.duplicates)
        m.skipped.inc(summary.skipped)
        if summary.records:
            m.batch_size.observe(summary.records)

    def _give_up_on_second_stop(self) -> None:
        if self._stops >= 2:
            raise Aborted

    def _assigned(self, partitions: list[Partition]) -> None:
        """Seek each new partition to the lowest offset any stage still needs."""
        if self._consumer is None or not partitions:
            return
        self._settle(commit=False)
        stored = [retry(name, partial(read, partitions), self._settings.retry_max_seconds,
                        failed=self.metrics.sink_errors.labels(name).inc,
                        checkpoint=self._give_up_on_second_stop)
                  for name, read in self._stages_of.offset_readers()]
        self._check_the_log(partitions, stored)
        for partition in partitions:
            offsets = [found.get(partition) for found in stored]
            if None in offsets:
                self._consumer.seek_to_beginning(partition)
            else:
                self._consumer.seek(partition, min(o for o in offsets if o is not None))
        log.info("assigned %d partitions", len(partitions))

    def _check_the_log(self, partitions: list[Partition],
                       stored: list[dict[Partition, int]]) -> None:
        """A read model whose offsets fell behind the first record Kafka keeps can no longer
        catch up from Kafka: condemned (rebuilt from PostgreSQL), and its partitions read
        from where the durable write is."""
        condemn = self._stages_of.condemn
        if condemn is None or self._consumer is None or len(stored) < 2:
            return
        behind = offsets.behind_the_log(stored[-1], self._consumer.log_starts(partitions))
        if behind:
            retry("read model", partial(condemn, behind), self._settings.retry_max_seconds,
                  checkpoint=self._give_up_on_second_stop)
            for partition in behind:
                stored[-1][partition] = stored[0].get(partition, stored[-1][partition])

    def _revoked(self, partitions: list[Partition]) -> None:
        self._settle(commit=False)
        dropped = self._pending.discard(partitions)
        if dropped:
            log.info("revoked %d partitions; %d unwritten records left to their new owner",
                     len(partitions), dropped)
