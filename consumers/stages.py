"""The sinks' writer processes, chained: a batch goes through the sinks in order.

Each sink has a writer process of its own (``consumers.writer``). Batch N+1 is
written to the first sink (PostgreSQL) while batch N is written to the next
(Redis, which reads what PostgreSQL stored): each stage runs one batch behind
the one before, on its own core and GIL. A batch is *complete* once the last
sink has it; only complete batches are committed to Kafka.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from consumers import writer
from consumers.sink import SinkFactory, SinkStopped
from consumers.writer import Limits, Summary
from insights.events.kafka import Partition, Record


@dataclass(frozen=True)
class Batch:
    """Records handed to the sinks together, the clock they are judged by, and the next
    offset of every partition they cover."""

    records: list[Record]
    now: datetime
    offsets: dict[Partition, int]


Waiter = Callable[["Future[Summary]"], Summary]
"""Waits for a writer's answer (the pipeline's, which gives up on a second stop)."""


class Stages:
    """One writer process per sink, and the batch each is writing."""

    def __init__(self, factories: Sequence[SinkFactory], log_level: str, limits: Limits,
                 wait: Waiter, done: Callable[[Summary], None]) -> None:
        context = multiprocessing.get_context("spawn")
        self._pools = [ProcessPoolExecutor(max_workers=1, mp_context=context,
                                           initializer=writer.start,
                                           initargs=(factory, log_level, os.getpid()))
                       for factory in factories]
        self._limits, self._wait, self._done = limits, wait, done
        self._inflight: list[tuple[Batch, Future[Summary]] | None] = [None] * len(factories)
        self._ticks: list[Future[int]] = []

    def submit(self, batch: Batch) -> list[Batch]:
        """Hand ``batch`` to the first sink once its previous batch has moved on;
        returns the batches that became complete meanwhile."""
        complete = self._advance(0)
        self._start(0, batch)
        return complete

    def progress(self) -> list[Batch]:
        """Move on every batch whose stage is done, without waiting; the complete ones."""
        complete: list[Batch] = []
        for stage in reversed(range(len(self._pools))):
            current = self._inflight[stage]
            last = stage + 1 == len(self._pools)
            if current and current[1].done() and (last or self._inflight[stage + 1] is None):
                complete += self._advance(stage)
        return complete

    def settle(self) -> list[Batch]:
        """Wait until every batch handed in is in every sink; returns them."""
        complete: list[Batch] = []
        for stage in range(len(self._pools)):
            complete += self._advance(stage)
        return complete

    def busy(self) -> bool:
        return any(self._inflight)

    def tick(self, now: datetime) -> None:
        """Queue each sink's time-driven work behind its batch (unless one still waits);
        a sink that stopped in its last tick (``SinkStopped``) stops the consumer here."""
        if all(t.done() for t in self._ticks):
            for done in self._ticks:
                if isinstance(done.exception(), SinkStopped):
                    raise cast(SinkStopped, done.exception())
            self._ticks = [pool.submit(writer.tick, now) for pool in self._pools]

    def shutdown(self, *, wait: bool) -> None:
        for pool in self._pools:
            pool.shutdown(wait=wait, cancel_futures=True)

    def _advance(self, stage: int) -> list[Batch]:
        """Make room in ``stage``: wait for its batch, then hand it to the next stage."""
        current = self._inflight[stage]
        if current is None:
            return []
        batch, future = current
        self._inflight[stage] = None
        self._done(self._wait(future))
        if stage + 1 == len(self._pools):
            return [batch]
        complete = self._advance(stage + 1)
        self._start(stage + 1, batch)
        return complete

    def _start(self, stage: int, batch: Batch) -> None:
        future = self._pools[stage].submit(writer.write, batch.records, batch.now,
                                           self._limits, count=stage == 0)
        self._inflight[stage] = (batch, future)
