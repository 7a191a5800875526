"""A writer process: it owns one sink, decodes each batch and writes it there.

Kafka polling stays in the consumer's main process; every sink has a writer
process of its own (``consumers.stages`` chains them), so polling, the
PostgreSQL sink and the Redis sink do not share one GIL. A process dies with
its parent (``PR_SET_PDEATHSIG``): a SIGKILLed consumer leaves no writer
behind, and a transaction cut short is rolled back by PostgreSQL.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from consumers.batch import decode
from consumers.sink import Sink, SinkFactory, SinkStopped, SinkUnavailable, retry
from insights import logs
from insights.events.contract import event_type
from insights.events.kafka import Record

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


_sink: list[Sink] = []       # this process's sink, once started


def start(factory: SinkFactory, log_level: str, parent: int) -> None:
    """Process initializer: die with the parent, leave signals to it, build the sink."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:        # the parent died before prctl took effect
        os._exit(1)
    # Ctrl-C reaches the whole process group; the consumer decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs.configure(log_level)
    _sink[:] = [factory()]


def write(records: list[Record], now: datetime, limits: Limits, *, count: bool) -> Summary:
    """Decode ``records`` and apply them to this process's sink, retrying while it is
    unavailable. Every writer decodes with the same ``now``, so all see the same items;
    only the one that ``count`` s (the first sink, the durable record) reports them."""
    items = decode(records, now=now, max_bytes=limits.max_bytes,
                   max_future_s=limits.max_future_s)
    sink, summary = _sink[0], Summary(records=len(items) if count else 0)
    started = time.perf_counter()
    result = retry(sink.name, partial(sink.write, items), limits.retry_max_s,
                   failed=partial(summary.failures.update, [sink.name]))
    summary.seconds[sink.name] = time.perf_counter() - started
    if count:
        summary.applied.update(event_type(a.event) for a in result.applied)
        summary.rejected.update(r.reason for r in result.rejected)
        summary.duplicates += result.duplicates
        summary.skipped += result.skipped
    return summary


def tick(now: datetime) -> int:
    """Time-driven work of the sink, if it has some (windows rolling at midnight, expired
    locks); returns how many users were re-scored. A failure is logged and skipped:
    the next tick tries again; ``SinkStopped`` is raised for the consumer to stop."""
    timed = getattr(_sink[0], "tick", None)
    if timed is None:
        return 0
    try:
        return int(timed(now))
    except SinkStopped:
        raise                    # the consumer stops: an operator must act
    except SinkUnavailable as exc:
        log.warning("%s tick skipped: %s", _sink[0].name, exc)
    except Exception:
        log.exception("%s tick failed", _sink[0].name)
    return 0
