"""The traffic model: when visits start, and their events released in time order.

Visits arrive as a Poisson process. History (``backfill``) uses the natural
intensity of the population (each profile's visits per day) shaped by a
diurnal and weekly pattern. Live traffic does the same when no ``rate`` is
given, so today looks like any other day (the demo); with a ``rate`` it is a
flat load calibrated so that events flow at that rate (Little's law over the
mean number of events per visit, measured as visits are scripted), which is
what benchmarks want. A visit is scripted
whole when it starts; its events wait in a heap until their time comes, so
what is released at ``now`` never lies in the future.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

from insights.simulator.traffic.population import Population, User
from insights.simulator.traffic.visits import Event, Timed, VisitWriter

#: Relative traffic per UTC hour on a working day (a Polish site: CET/CEST office hours).
HOURLY: Final = (
    0.15, 0.10, 0.08, 0.08, 0.10, 0.25, 0.60, 1.20, 1.90, 2.20, 2.20, 2.10,
    1.90, 2.00, 2.00, 1.80, 1.50, 1.20, 1.00, 0.90, 0.80, 0.60, 0.40, 0.25,
)  # fmt: skip
WEEKEND: Final = 0.35
_MEAN: Final = sum(HOURLY) / 24 * (5 + 2 * WEEKEND) / 7
PEAK: Final = max(HOURLY) / _MEAN
#: Live traffic starts with the sessions of this long before ``now`` in progress.
WARM_UP: Final = timedelta(minutes=5)
ANONYMOUS_SHARE: Final = 0.35
#: Chance per visit of a burst of alerts against an address no user has.
ATTACK_P: Final = 0.003
_CHUNK: Final = timedelta(hours=1)
_SMOOTHING: Final = 0.005
_MINUTES: Final = 60


def diurnal(t: datetime) -> float:
    """Traffic at ``t`` relative to the weekly mean (1.0): high in office hours, low at night."""
    return HOURLY[t.hour] * (WEEKEND if t.weekday() >= 5 else 1.0) / _MEAN


class TrafficModel:
    """Contract-valid event dicts for ``population``, driven by ``rng`` and the times given.

    Call ``start(now, backfill_days)`` once and consume what it yields (user
    upserts, history, the warm-up), then ``take(now, limit)`` repeatedly with a
    non-decreasing ``now``. ``rate`` (events per second) makes live traffic a
    flat load; ``None`` keeps the population's own rhythm.
    """

    def __init__(self, population: Population, rng: random.Random,
                 *, rate: float | None = 50.0, anonymous_share: float = ANONYMOUS_SHARE) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self._population = population
        self._rng = rng
        self._anonymous_share = anonymous_share
        self._writer = VisitWriter(rng, population)
        self._heap: list[tuple[datetime, int, Event]] = []
        self._seq = itertools.count()
        self._cursor: datetime | None = None
        self._present = datetime.min
        # Moving mean of a visit's events by minute since its start (last: the rest); a prior.
        self._by_minute = [4.0, 2.0] + [0.75] * 8 + [0.0] * (_MINUTES - 9)

    @property
    def events_per_visit(self) -> float:
        """The moving mean number of events of the last few hundred visits scripted."""
        return sum(self._by_minute)

    def _live_intensity(self, t: datetime) -> float:
        """Visits per second that make events flow at ``rate`` at ``t``.

        Live traffic has no visits before the warm-up, so early on only the
        events of a visit's first ``age`` count (``age`` = time since the
        warm-up began); as it grows this tends to ``rate / events_per_visit``.
        """
        assert self.rate is not None
        age = max(0.0, (t - self._present).total_seconds()) + WARM_UP.total_seconds()
        minutes = min(int(age // 60), _MINUTES)
        return self.rate / max(sum(self._by_minute[:minutes]), 1.0)

    def start(self, now: datetime, backfill_days: float = 0) -> Iterator[Event]:
        """Upserts of every user, then ``backfill_days`` of history, then warm-up, up to ``now``.

        History follows the natural, diurnal intensity; the last ``WARM_UP``
        runs as live traffic does, so it starts with sessions in progress.
        """
        if self._cursor is not None:
            raise RuntimeError("the traffic model is already started")
        self._present = now
        warm = now - WARM_UP
        self._cursor = min(warm, now - timedelta(days=backfill_days))
        upserts = [self._writer.upsert(user) for user in self._population]
        return self._history(upserts, warm, now)

    def take(self, now: datetime, limit: int | None = None) -> list[Event]:
        """The next events due by ``now`` (at most ``limit``), oldest first."""
        if self._cursor is None:
            raise RuntimeError("call start() first")
        self._arrivals(now, natural=self.rate is None)
        return self._due(now, limit)

    def events_until(self, now: datetime) -> list[Event]:
        """Every event due by ``now``."""
        return self.take(now)

    def _history(self, upserts: list[Event], warm: datetime, now: datetime) -> Iterator[Event]:
        yield from upserts
        assert self._cursor is not None
        while self._cursor < warm:
            step = min(self._cursor + _CHUNK, warm)
            self._arrivals(step, natural=True)
            yield from self._due(step)
        self._arrivals(now, natural=self.rate is None)
        yield from self._due(now)

    def _arrivals(self, until: datetime, *, natural: bool) -> None:
        """Start the visits that arrive between the cursor and ``until``."""
        assert self._cursor is not None
        while True:
            intensity = self._natural_peak() if natural else self._live_intensity(self._cursor)
            if intensity <= 0:
                self._cursor = max(self._cursor, until)
                return
            t = self._cursor + timedelta(seconds=self._rng.expovariate(intensity))
            if t > until:
                self._cursor = max(self._cursor, until)  # memoryless: restart from here
                return
            self._cursor = t
            if natural and self._rng.random() * PEAK > diurnal(t):
                continue  # thinning to the diurnal pattern
            self._arrive(t, natural=natural)

    def _natural_peak(self) -> float:
        """Visits per second at the busiest hour, anonymous visitors included."""
        return self._population.visits_per_day / 86400 / (1 - self._anonymous_share) * PEAK

    def _arrive(self, t: datetime, *, natural: bool) -> None:
        if self._rng.random() < ATTACK_P:
            self._schedule(self._writer.attack(t), visit=False)
        user = None
        if self._rng.random() >= self._anonymous_share:
            user = self._choose(t, tries=1 if natural else 12)
            if user is None and natural:
                return  # this user does not come now (thinning to their frequency)
        self._schedule(self._writer.visit(user, t), visit=True)

    def _choose(self, t: datetime, tries: int) -> User | None:
        """A user free at ``t``, drawn by their visit frequency at that moment."""
        days_ago = (self._present - t).total_seconds() / 86400
        for _ in range(tries if len(self._population) else 0):
            user = self._population.pick(self._rng)
            chance = user.profile.weight(days_ago) / user.profile.max_weight
            if (user.is_active and user.created_at <= t and self._writer.idle(user, t)
                    and self._rng.random() < chance):
                return user
        return None

    def _schedule(self, events: list[Timed], *, visit: bool) -> None:
        for t, event in events:
            heapq.heappush(self._heap, (t, next(self._seq), event))
        if visit and events:
            counts = [0] * (_MINUTES + 1)
            for t, _ in events:
                counts[min(int((t - events[0][0]).total_seconds() // 60), _MINUTES)] += 1
            self._by_minute = [m + (c - m) * _SMOOTHING for m, c in zip(self._by_minute, counts,
                                                                        strict=True)]

    def _due(self, now: datetime, limit: int | None = None) -> list[Event]:
        out: list[Event] = []
        while self._heap and self._heap[0][0] <= now and (limit is None or len(out) < limit):
            out.append(heapq.heappop(self._heap)[2])
        return out
