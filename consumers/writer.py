"""A writer process: it owns one stage, decodes each batch and hands it to that stage.

Kafka polling stays in the consumer's main process; the durable write and the
projection each have a writer process of their own (``consumers.processes``
chains them), so polling, PostgreSQL's write and Redis's projection do not
share one GIL. Records travel to them as columns (``Packed``). Both decode a
batch with the batch's ``now``, so both see the same items; the projection does
not judge again what the write's decoding passed. The durable write answers what
it committed (``Committed``), which the projection gets with the batch. A process
dies with its parent (``PR_SET_PDEATHSIG``): a SIGKILLed consumer leaves no
writer behind, and a transaction cut short is rolled back by PostgreSQL.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import cast

from consumers import collector
from consumers.batch import Item, Packed, decode, decode_counted
from consumers.protocol import (
    Committed,
    DurableWrite,
    Projection,
    SinkStopped,
    SinkUnavailable,
    Stage,
    WriteResult,
    retry,
)
from insights import logs
from insights.events.contract import event_type

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WriterLimits:
    """What a writer process needs of the settings."""

    max_bytes: int
    max_future_s: float
    retry_max_s: float


@dataclass
class Summary:
    """What one batch did, sent back to the consumer for its metrics."""

    applied: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    skipped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    records: int = 0
    committed: Committed | None = None    # the durable write's answer, for the projection


_stage: list[Stage] = []       # this process's stage, once started


def start(build: Callable[[], Stage], log_level: str, parent: int) -> None:
    """Process initializer: die with the parent, leave signals to it, build the stage."""
    serve(parent)
    logs.configure(log_level)
    _stage[:] = [build()]
    collector.tune()


def serve(parent: int) -> None:
    """Make this child process die with ``parent`` (also a SIGKILLed one) and leave
    SIGINT and SIGTERM to it: Ctrl-C reaches the whole process group, and the parent
    decides when its children stop."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:        # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def write(records: Packed, now: datetime, limits: WriterLimits) -> Summary:
    """The durable write: decode ``records`` and store them, retrying while PostgreSQL is
    unavailable; the summary counts the batch and carries what was committed."""
    items = decode(records.records(), now=now, max_bytes=limits.max_bytes,
                   max_future_s=limits.max_future_s)
    stage = cast(DurableWrite, _stage[0])
    summary = Summary(records=len(items))
    result = _timed(summary, stage.name, partial(stage.write, items, now), limits)
    summary.applied.update(event_type(a.event) for a in result.applied)
    summary.rejected.update(r.reason for r in result.rejected)
    summary.duplicates += result.duplicates
    summary.skipped += result.skipped
    summary.committed = result.committed()
    return summary


def project(records: Packed, now: datetime, limits: WriterLimits,
            committed: Committed) -> Summary:
    """The projection: decode ``records`` again (what the durable write ``committed`` of
    them without judging it twice) and bring the read model up to it (the batch is
    counted by the write alone)."""
    items: list[Item] = decode_counted(records.records(), committed.counted, now=now,
                                       max_bytes=limits.max_bytes,
                                       max_future_s=limits.max_future_s)
    stage = cast(Projection, _stage[0])
    summary = Summary()
    _timed(summary, stage.name, partial(stage.write, items, committed, now), limits)
    return summary


def _timed(summary: Summary, name: str, attempt: Callable[[], WriteResult],
           limits: WriterLimits) -> WriteResult:
    started = time.perf_counter()
    result = retry(name, attempt, limits.retry_max_s,
                   failed=partial(summary.failures.update, [name]))
    summary.seconds[name] = time.perf_counter() - started
    return result


def tick(now: datetime) -> int:
    """The projection's time-driven work (windows rolling at midnight, expired locks);
    returns how many users were re-scored. A failure is logged and skipped: the next
    tick tries again; ``SinkStopped`` is raised for the consumer to stop."""
    projection = cast(Projection, _stage[0])
    try:
        return projection.tick(now)
    except SinkStopped:
        raise                    # the consumer stops: an operator must act
    except SinkUnavailable as exc:
        log.warning("%s tick skipped: %s", projection.name, exc)
    except Exception:
        log.exception("%s tick failed", projection.name)
    return 0
