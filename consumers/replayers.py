"""Replayer processes: a rebuild's replay spread over several processes by partition.

A replay's time goes to Python (the session snapshots of each chunk) and to
PostgreSQL (summing the chunks), and one process uses one core. With
``workers`` > 1 each of that many processes gets a share of the partitions,
balanced by their stored events. Each reads its share in the rebuild's one
snapshot of PostgreSQL (exported by the rebuild, imported with ``SET
TRANSACTION SNAPSHOT``) and applies it through a projection of its own into the
generation being built. The sums still go by the rebuild's per-partition
watermarks, so shares never overlap and a run killed midway continues each
partition where it stopped. Replayers die with the rebuild
(``consumers.writer.serve``); a rebuild that stops (lock lost, Ctrl-C, a
replayer's error) interrupts the others (``STOP_SIGNAL``), whose queries
PostgreSQL then cancels (``insights.database.cancel_on_interrupt``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.queues import SimpleQueue
from multiprocessing.synchronize import Event
from typing import Any

from consumers import collector, writer
from consumers.projection import RedisProjection
from consumers.stored import stored_chunks
from insights import database, logs
from insights.database import Connection
from insights.events.kafka import Partition

log = logging.getLogger(__name__)
POLL_S = 0.2         # how often the rebuild reports progress and checks its lock
#: What a stopping rebuild sends its replayers (they ignore SIGINT and SIGTERM, which
#: are the rebuild's): replaying, it cancels their query; idle, nothing; and one still
#: starting ends quietly, by the signal's default action.
STOP_SIGNAL = signal.SIGUSR1


class Stopped(Exception):
    """The rebuild told this replayer to stop."""


@dataclass(frozen=True)
class Share:
    """One replayer's part of a rebuild: the partitions' take-over marks (``marks``) and
    how far an interrupted run replayed them (``replayed``), in the snapshot
    ``snapshot``, into the generation ``generation_id``, at the replay's time ``now``."""

    snapshot: str
    generation_id: str
    now: datetime
    marks: dict[Partition, int]
    replayed: dict[Partition, int]


def replay(sink: RedisProjection, conn: Connection, share: Share,
           progress: Callable[[int], None]) -> int:
    """Replay the stored events of ``share`` through ``sink``, chunk by chunk
    (``consumers.stored``); ``progress`` hears of each chunk's events."""
    count = 0
    for chunk in stored_chunks(conn, share.now, share.marks, share.replayed):
        sink.replay(chunk, share.now)
        count += chunk.events
        progress(chunk.events)
    return count


def deal(pending: Mapping[Partition, int], marks: Mapping[Partition, int],
         workers: int) -> list[dict[Partition, int]]:
    """``marks``' partitions dealt into at most ``workers`` shares, each partition (the
    most ``pending`` events first) to the share with the fewest events so far."""
    shares: list[dict[Partition, int]] = [{} for _ in range(max(workers, 1))]
    loads = [0] * len(shares)
    for part in sorted(marks, key=lambda p: (-pending.get(p, 0), p)):
        lightest = loads.index(min(loads))
        shares[lightest][part] = marks[part]
        loads[lightest] += pending.get(part, 0)
    return [share for share in shares if share]


class Replayers:
    """``workers`` - 1 replayer processes beside this one, started at once so that they
    are ready when the rebuild has dealt the shares (a context manager: they stop at its
    end). ``run`` replays the first share in this process, the others in them."""

    def __init__(self, sink: RedisProjection, workers: int) -> None:
        self.workers = max(workers, 1)
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            context = multiprocessing.get_context("spawn")
            self._counts: SimpleQueue[int] = context.SimpleQueue()
            self._stop = context.Event()
            level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
            self._pool = ProcessPoolExecutor(
                self.workers - 1, mp_context=context, initializer=_start,
                initargs=(Setup(sink.recipe(), sink.postgres_url, level, os.getpid()),
                          self._counts, self._stop))
            for _ in range(self.workers - 1):       # each starts a process now
                self._pool.submit(_ready)

    def __enter__(self) -> Replayers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self._pool is not None:
            self._stop.set()      # a replayer still at work stops after its chunk
            if kind is not None:  # or at once, its query cancelled, when the rebuild stops
                _interrupt(self._pool)
            self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, sink: RedisProjection, conn: Connection, shares: list[Share],
            progress: Callable[[int], None]) -> int:
        """Replay the first share here, through ``sink`` and ``conn`` (in the snapshot the
        others import), and each other one in a replayer process; ``progress`` hears of
        every batch. Returns how many events were replayed."""
        if not shares:
            return 0
        first, others = shares[0], shares[1:]
        if not others or self._pool is None:
            return sum(replay(sink, conn, share, progress) for share in shares)
        futures = [self._pool.submit(_replay_share, share) for share in others]

        def step(done: int) -> None:
            for future in futures:      # a replayer's error stops this one too
                if future.done():
                    future.result()
            _drain(self._counts, progress, done)

        here = replay(sink, conn, first, step)
        _follow(futures, self._counts, progress)
        return here + sum(f.result() for f in futures)


def _interrupt(pool: ProcessPoolExecutor) -> None:
    """``STOP_SIGNAL`` to each of ``pool``'s processes (before Python 3.14's
    ``terminate_workers`` the executor has no public way to reach them)."""
    processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
    for pid in list(processes):
        with suppress(ProcessLookupError):
            os.kill(pid, STOP_SIGNAL)


def _follow(futures: list[Future[int]], counts: SimpleQueue[int],
            progress: Callable[[int], None]) -> None:
    """Pass the replayers' batch counts on until all are done; a replayer's error is
    raised here as soon as it happens."""
    running: set[Future[int]] = set(futures)
    while running:
        done, running = wait(running, timeout=POLL_S, return_when=FIRST_EXCEPTION)
        _drain(counts, progress)
        for future in done:
            future.result()
    _drain(counts, progress)


def _drain(counts: SimpleQueue[int], progress: Callable[[int], None], total: int = 0
           ) -> None:
    while not counts.empty():
        total += counts.get()
    progress(total)


_process: dict[str, Any] = {}


@dataclass(frozen=True)
class Setup:
    """What a replayer process is built from: its projection's recipe, the PostgreSQL
    to read, the log level, and the rebuild's process id (to die with it)."""

    projection: Callable[[], RedisProjection]
    postgres_url: str
    log_level: str
    parent: int


def _start(setup: Setup, counts: SimpleQueue[int], stop: Event) -> None:
    """Replayer initializer: die with the rebuild, build this process's projection."""
    writer.serve(setup.parent)
    logs.configure(setup.log_level)
    signal.signal(STOP_SIGNAL, signal.SIG_IGN)      # idle: see _interruptible
    database.cancel_on_interrupt()
    sink = setup.projection()
    sink.announcing, sink.scores.detector = False, None
    _process.update(sink=sink, postgres_url=setup.postgres_url, counts=counts, stop=stop)
    collector.tune()


def _ready() -> None:
    """Nothing: submitted once per replayer to start its process early."""


def _replay_share(share: Share) -> int:
    sink: RedisProjection = _process["sink"]
    counts: SimpleQueue[int] = _process["counts"]
    stop: Event = _process["stop"]

    def reported(done: int) -> None:
        counts.put(done)
        if stop.is_set():
            raise Stopped

    sink.retarget(share.generation_id)
    with _interruptible():
        if stop.is_set():             # stopped before it could hear of it
            return 0
        conn = database.connect(_process["postgres_url"])
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with conn.cursor() as cur:
                cur.execute("SET TRANSACTION SNAPSHOT %s", (share.snapshot,))
            return replay(sink, conn, share, reported)
        except Stopped:
            return 0
        finally:
            conn.close()


@contextmanager
def _interruptible() -> Iterator[None]:
    """``STOP_SIGNAL`` raises ``KeyboardInterrupt`` within (a query's is cancelled
    first), and is ignored again after."""
    signal.signal(STOP_SIGNAL, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(STOP_SIGNAL, signal.SIG_IGN)
