"""The consumer's lag, written where the web app's freshness badge reads it (``{o}:lag``).

Each consumer process writes the partitions it owns; a partition's field says
when it was measured, so a field left by a consumer that lost the partition (or
died) ages out instead of counting forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import redis

from insights.events.kafka import Partition
from insights.readmodel.keys import Keys

log = logging.getLogger(__name__)
EVERY_S = 1.0


class LagReport:
    """Writes per-partition lag to Redis at most once a second; never raises."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis, self._keys = client, keys
        self._last = 0.0

    def __call__(self, lags: Mapping[Partition, int]) -> None:
        # Wall clock on purpose, not a batch's ``now``: lag is measured between batches
        # (idle consumers report too), and the web app ages each field out against its
        # own wall clock, so the stamp must be the moment of measuring.
        now = time.time()
        if not lags or now - self._last < EVERY_S:
            return
        self._last = now
        try:
            self._redis.hset(self._keys.lag, mapping={
                f"{topic}:{partition}": f"{lag} {int(now)}"
                for (topic, partition), lag in lags.items()})
        except redis.RedisError as error:
            # The badge shows an old measurement; consuming goes on.
            log.warning("lag not reported to Redis: %s", error)

    def close(self) -> None:
        self._redis.close()
