"""The stages' writer processes: the durable write takes batch N+1 while the projection
applies batch N.

Each stage has a writer process of its own (``consumers.writer``), on its own
core and GIL. A batch goes to the durable write first; its answer
(``Committed``: what PostgreSQL holds of the batch) travels with the batch to
the projection, which therefore runs one batch behind. A batch is *complete*
once the last stage has it; only complete batches are committed to Kafka.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import cast

from consumers import writer
from consumers.batch import Packed
from consumers.protocol import Committed, SinkStopped, Stage
from consumers.stages import Stages
from consumers.writer import Summary, WriterLimits
from insights.events.kafka import Partition, Record


@dataclass
class Batch:
    """Records handed to the stages together, the clock they are judged by, and the next
    offset of every partition they cover."""

    records: list[Record]
    now: datetime
    offsets: dict[Partition, int]

    @cached_property
    def packed(self) -> Packed:
        """The records as they travel to each writer process (packed once for both)."""
        return Packed.of(self.records)


Waiter = Callable[["Future[Summary]"], Summary]
"""Waits for a writer's answer (the pipeline's, which gives up on a second stop)."""


class WriterProcesses:
    """The durable write's process, the projection's (if any), and the batch in each."""

    def __init__(self, stages: Stages, log_level: str, limits: WriterLimits,
                 wait: Waiter, done: Callable[[Summary], None]) -> None:
        def pool(build: Callable[[], Stage]) -> ProcessPoolExecutor:
            return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(
                "spawn"), initializer=writer.start, initargs=(build, log_level, os.getpid()))
        self._write = pool(stages.write)
        self._projection = pool(stages.projection) if stages.projection else None
        self._limits, self._wait, self._done = limits, wait, done
        self._writing: tuple[Batch, Future[Summary]] | None = None
        self._projecting: tuple[Batch, Future[Summary]] | None = None
        self._ticks: list[Future[int]] = []

    def submit(self, batch: Batch) -> list[Batch]:
        """Hand ``batch`` to the durable write once its previous batch has moved on;
        returns the batches that became complete meanwhile."""
        complete = self._advance_write()
        self._writing = (batch, self._write.submit(writer.write, batch.packed, batch.now,
                                                   self._limits))
        return complete

    def progress(self) -> list[Batch]:
        """Move on every batch whose stage is done, without waiting; the complete ones."""
        complete: list[Batch] = []
        if self._projecting is not None and self._projecting[1].done():
            complete += self._advance_projection()
        if (self._writing is not None and self._writing[1].done()
                and self._projecting is None):
            complete += self._advance_write()
        return complete

    def settle(self) -> list[Batch]:
        """Wait until every batch handed in is in every stage; returns them."""
        return self._advance_write() + self._advance_projection()

    def busy(self) -> bool:
        return self._writing is not None or self._projecting is not None

    def tick(self, now: datetime) -> None:
        """Queue the projection's time-driven work behind its batch (unless one still
        waits); a tick that stopped (``SinkStopped``) stops the consumer here."""
        if self._projection is None or not all(t.done() for t in self._ticks):
            return
        for done in self._ticks:
            if isinstance(done.exception(), SinkStopped):
                raise cast(SinkStopped, done.exception())
        self._ticks = [self._projection.submit(writer.tick, now)]

    def shutdown(self, *, wait: bool) -> None:
        for pool in (self._write, self._projection):
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)

    def _advance_write(self) -> list[Batch]:
        """Wait for the batch being written, then hand it with what the write committed
        to the projection (after the projection's previous batch)."""
        if self._writing is None:
            return []
        batch, future = self._writing
        self._writing = None
        summary = self._wait(future)
        self._done(summary)
        if self._projection is None:
            return [batch]
        complete = self._advance_projection()
        committed = summary.committed or Committed()
        self._projecting = (batch, self._projection.submit(
            writer.project, batch.packed, batch.now, self._limits, committed))
        return complete

    def _advance_projection(self) -> list[Batch]:
        if self._projecting is None:
            return []
        batch, future = self._projecting
        self._projecting = None
        self._done(self._wait(future))
        return [batch]
