"""The writer process: it owns the sinks, decodes each batch and writes it to every sink.

Kafka polling stays in the consumer's main process; decoding and writing run
here, in a process of their own, so the two halves do not share one GIL (on a
two-core machine that is the difference between ~13k and ~20k events/s). The
process dies with its parent (``PR_SET_PDEATHSIG``): a SIGKILLed consumer leaves
no writer behind, and a transaction cut short is rolled back by PostgreSQL.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from consumers.batch import Item, decode
from consumers.sink import Sink, SinkFactory, SinkUnavailable, retry
from insights import logs
from insights.contract import event_type
from insights.kafka import Record

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """What the writer needs of the settings."""

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


_sinks: list[Sink] = []
_lagging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="last-sink")
_behind: list[Future[Summary]] = []
_ticking: list[Future[int]] = []       # the tick queued behind the last sink, if any


def start(factories: Sequence[SinkFactory], log_level: str, parent: int) -> None:
    """Process initializer: die with the parent, leave signals to it, build the sinks."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:        # the parent died before prctl took effect
        os._exit(1)
    # Ctrl-C reaches the whole process group; the consumer decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs.configure(log_level)
    _sinks[:] = [make() for make in factories]


def write(records: list[Record], now: datetime, limits: Limits) -> Summary:
    """Decode ``records`` and apply them to every sink, retrying while one is unavailable.

    The last sink (Redis) runs one batch behind, on a thread: while it applies
    batch N, the next call writes batch N+1 to the first sink (PostgreSQL), and
    the two overlap on the servers' cores. A call first waits for the previous
    batch's last sink, so that batch is complete in every sink when this returns.
    """
    items = decode(records, now=now, max_bytes=limits.max_bytes,
                   max_future_s=limits.max_future_s)
    summary = Summary(records=len(items))
    *first, last = _sinks
    for sink in first:
        _apply(sink, items, limits, summary, count=sink is _sinks[0])
    _merge(summary, drain())
    if first:
        _behind.append(_lagging.submit(_apply, last, items, limits, Summary(), count=False))
    else:
        _apply(last, items, limits, summary, count=True)
    return summary


def drain() -> Summary:
    """Wait until the last sink has every batch handed to it; what it did meanwhile."""
    done = Summary()
    while _behind:
        _merge(done, _behind.pop(0).result())
    return done


def _apply(sink: Sink, items: Sequence[Item], limits: Limits, summary: Summary, *,
           count: bool) -> Summary:
    started = time.perf_counter()
    result = retry(sink.name, partial(sink.write, items), limits.retry_max_s,
                   failed=partial(summary.failures.update, [sink.name]))
    summary.seconds[sink.name] = time.perf_counter() - started
    if count:    # events are counted once, as the first sink (the durable record) saw them
        summary.applied.update(event_type(a.event) for a in result.applied)
        summary.rejected.update(r.reason for r in result.rejected)
        summary.duplicates += result.duplicates
        summary.skipped += result.skipped
    return summary


def _merge(into: Summary, other: Summary) -> None:
    into.seconds.update(other.seconds)
    into.failures.update(other.failures)


def tick(now: datetime) -> None:
    """Time-driven work of the sinks that have some (windows rolling at midnight, expired locks).

    It is queued behind the last sink's batches, on the thread that owns that
    sink's connections, and not waited for: the first sink goes on writing the
    next batch meanwhile. A tick still queued makes this one a no-op.
    """
    if len(_sinks) <= 1:
        _tick(now)
    elif not _ticking or _ticking[0].done():
        _ticking[:] = [_lagging.submit(_tick, now)]


def _tick(now: datetime) -> int:
    """Returns how many users were re-scored; a sink that fails is skipped with a log
    line (the next tick tries again)."""
    done = 0
    for sink in _sinks:
        timed = getattr(sink, "tick", None)
        if timed is None:
            continue
        try:
            done += int(timed(now))
        except SinkUnavailable as exc:
            log.warning("%s tick skipped: %s", sink.name, exc)
        except Exception:
            log.exception("%s tick failed", sink.name)
    return done
