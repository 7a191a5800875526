"""The traffic simulator's driver: paces the pure ``insights.simulator.traffic`` model onto Kafka.

``run`` builds a population and a ``TrafficModel`` from a seed, sends the
user upserts, the optional history (``backfill_days``) and the warm-up as fast
as the producer allows, then live events for ``duration`` seconds (0 = until
Ctrl-C): in the history's own daily rhythm, or at a flat ``rate`` per second
held by a token bucket (small bursts every ``tick_s``) for load tests. Valid
events go through ``insights.events.producer.Emitter.emit``; with ``bad_ratio``
a share of the messages are broken copies sent raw.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from insights.events.kafka import EventProducer
from insights.events.producer import Emitter, InvalidEvent
from insights.simulator.traffic import Population, TrafficModel, break_event

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where the simulator's messages go."""

    def emit(self, event: Mapping[str, Any]) -> None: ...
    def send_raw(self, kind: str, key: bytes | None, value: bytes) -> None: ...
    def flush(self, timeout_s: float | None = None) -> None: ...


class KafkaSink:
    """Valid events through ``Emitter.emit``; broken ones raw to the topic of their kind."""

    def __init__(self, bootstrap: str, topics: Mapping[str, str]) -> None:
        self._topics = dict(topics)
        self._emitter = Emitter(bootstrap, self._topics)
        self._raw: EventProducer | None = None
        self._bootstrap = bootstrap

    def emit(self, event: Mapping[str, Any]) -> None:
        """Validate and send one event; raises ``InvalidEvent`` if it breaks the contract."""
        self._emitter.emit(event)

    def send_raw(self, kind: str, key: bytes | None, value: bytes) -> None:
        """Send bytes as they are to the topic of ``kind`` (a second producer, made on demand)."""
        if self._raw is None:
            self._raw = EventProducer(self._bootstrap)
        self._raw.send_raw(self._topics[kind], key, value)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until everything sent so far is acknowledged."""
        self._emitter.flush(timeout_s)
        if self._raw is not None:
            self._raw.flush(timeout_s)

    def close(self) -> None:
        """Flush and close both producers."""
        self._emitter.close()
        if self._raw is not None:
            self._raw.flush()
            self._raw.close()

    def __enter__(self) -> KafkaSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst`` (so a stall is not made up at once)."""

    def __init__(self, rate: float, start_s: float, burst: float) -> None:
        self.rate, self.burst = rate, max(burst, 1.0)
        self._tokens, self._last = 0.0, start_s

    def grant(self, now_s: float) -> int:
        """Whole tokens available at ``now_s`` (monotonic seconds)."""
        self._tokens = min(self.burst, self._tokens + (now_s - self._last) * self.rate)
        self._last = now_s
        return int(self._tokens)

    def spend(self, n: int) -> None:
        """Take ``n`` tokens (more than granted makes the balance negative, slowing the next)."""
        self._tokens -= n


class Clock(Protocol):
    """Wall time for event times, monotonic time for pacing, and sleep (tests fake all three)."""

    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _Sender:
    """Sends events (and, at ``bad_ratio``, broken copies) and counts them by type."""

    def __init__(self, sink: Sink, clock: Clock, bad_ratio: float, bad_rng: random.Random) -> None:
        if not 0 <= bad_ratio < 1:
            raise ValueError(f"bad_ratio must be in [0, 1), not {bad_ratio}")
        self.counts: Counter[str] = Counter()
        self._sink, self._clock, self._rng = sink, clock, bad_rng
        self._extra = bad_ratio / (1 - bad_ratio)  # broken copies per valid event

    def send(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Send ``events``; returns the number of messages sent (valid and broken)."""
        sent = 0
        for event in events:
            try:
                self._sink.emit(event)
                self.counts[str(event["type"])] += 1
                sent += 1
            except InvalidEvent as exc:
                log.warning("the simulator made an invalid %s event: %s", event.get("type"), exc)
                self.counts["refused"] += 1
            if self._extra and self._rng.random() < self._extra:
                bad = break_event(event, self._rng, self._clock.now())
                self._sink.send_raw(bad.kind, bad.key, bad.value)
                self.counts[f"bad:{bad.reason}"] += 1
                sent += 1
        return sent


def run(sink: Sink, *, users: int = 200, rate: float | None = 50.0, duration: float = 60.0,
        progress: bool = True, seed: int | None = None, backfill_days: int = 0,
        bad_ratio: float = 0.0, clock: Clock | None = None, tick_s: float = 0.05,
        on_live: Callable[[], None] | None = None) -> dict[str, int]:
    """Simulate ``users`` users; returns the messages sent per event type (``bad:<reason>``).

    The initial part (upserts, ``backfill_days`` of history, a few minutes of
    warm-up) is sent unpaced; live events follow for ``duration`` seconds (0 =
    until Ctrl-C), at ``rate`` per second or, when ``rate`` is None, in the
    history's own daily rhythm. The same ``seed`` and start time
    give the same events. ``on_live`` is called once the initial part is sent.
    """
    clock = clock or SystemClock()
    if seed is None:
        seed = random.SystemRandom().getrandbits(32)
    pace = "in their daily rhythm" if rate is None else f"at {rate:.1f} events/s"
    log.info("simulating %d users %s, seed %d", users, pace, seed)
    rng, now = random.Random(seed), clock.now()
    model = TrafficModel(Population(users, rng, now), rng, rate=rate)
    sender = _Sender(sink, clock, bad_ratio, random.Random(seed ^ 0x5EED))
    with _progress(progress, duration) as report:
        try:
            _initial(sender, model.start(now, backfill_days), clock, report)
            if on_live is not None:
                on_live()
            _live(sender, model, clock, duration=duration, tick_s=tick_s, report=report)
        except KeyboardInterrupt:
            log.info("interrupted; flushing what was sent")
    sink.flush()
    return dict(sender.counts)


Report = Callable[[str, int, float], None]
"""Progress callback: (phase, messages sent, elapsed seconds)."""


def _initial(sender: _Sender, events: Iterator[dict[str, Any]], clock: Clock,
             report: Report) -> None:
    """Upserts, history and warm-up, unpaced, in chunks so progress shows."""
    total, started, chunk = 0, clock.monotonic(), []
    for event in events:
        chunk.append(event)
        if len(chunk) == 1000:
            total += sender.send(chunk)
            chunk.clear()
            report("history", total, clock.monotonic() - started)
    total += sender.send(chunk)
    report("history", total, clock.monotonic() - started)
    log.info("sent %d messages of users, history and warm-up", total)


def _live(sender: _Sender, model: TrafficModel, clock: Clock, *, duration: float,
          tick_s: float, report: Report) -> None:
    """Live events at ``model.rate`` per second until ``duration`` passes (0 = forever)."""
    # What came due while the history was sent goes out at once: paced, it would stay
    # that far behind the clock for good (and the dashboard would look stale).
    total = sender.send(model.take(clock.now()))
    start = clock.monotonic()
    # With a rate, a token bucket holds the flat load to it; without, the model's own
    # rhythm sets the pace and whatever is due goes out.
    bucket = None if model.rate is None else TokenBucket(model.rate, start,
                                                         burst=model.rate * 4 * tick_s)
    while True:
        elapsed = clock.monotonic() - start
        if duration and elapsed >= duration:
            break
        limit = None if bucket is None else bucket.grant(clock.monotonic())
        sent = sender.send(model.take(clock.now(), limit))
        if bucket is not None:
            bucket.spend(sent)
        total += sent
        report("live", total, elapsed)
        clock.sleep(max(0.0, tick_s - (clock.monotonic() - start - elapsed)))


@contextmanager
def _progress(enabled: bool, duration: float) -> Iterator[Report]:
    """A rich progress display (stderr) of both phases; a no-op callback when disabled."""
    if not enabled:
        yield lambda phase, sent, elapsed: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description:<7}"),
               TextColumn("{task.fields[sent]:>9,} sent"),
               TextColumn("{task.fields[rate]:>8.1f}/s"), TimeElapsedColumn(),
               TextColumn("{task.fields[left]}"))
    with Progress(*columns, console=Console(stderr=True)) as bar:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, sent: int, elapsed: float) -> None:
            if phase not in tasks:
                for earlier in tasks.values():
                    bar.stop_task(earlier)  # freezes its elapsed time
                tasks[phase] = bar.add_task(phase, sent=0, rate=0.0, left="")
            left = f"{max(0.0, duration - elapsed):.0f} s left" if phase == "live" and duration \
                else ""
            bar.update(tasks[phase], sent=sent, rate=sent / max(elapsed, 1e-3), left=left)

        yield report
