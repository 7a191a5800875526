"""The projection's time-driven work, run about once a second with the batch clock's ``now``.

Users whose lock expired by ``now`` are re-scored (a lock counts only while it
lasts); once ``now`` is past midnight the day, week and month windows roll
(``roll_windows``, the HLL merges) and every ranked user is re-scored for the
new day, by one consumer (a lock per day) and marked done only once it is.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, cast

from consumers import rollups
from consumers.scores import TTL_S
from insights.readmodel.redisdb import merge_window_hlls, roll_windows
from scoring.windows import day_number

if TYPE_CHECKING:
    from consumers.projection import RedisProjection

log = logging.getLogger(__name__)
RESCORE_CHUNK = 1000
ROLL_LOCK_S = 600


def tick(projection: RedisProjection, now: datetime) -> int:
    """Re-score users whose lock expired, and everybody ranked after midnight; returns how
    many users were re-scored (Redis and PostgreSQL errors are the caller's)."""
    client, k = projection.client(), projection.keys
    expired = cast(list[str], client.zrangebyscore(k.locks, 0, now.timestamp()))
    done = rescore_all(projection, {int(u) for u in expired}, now)
    today = day_number(now.date())
    roll_windows(client, projection.scripts(), k, today)
    merge_window_hlls(client, projection.scripts(), k, today, TTL_S)
    if client.get(k.rolled) != str(today) and client.set(k.roll_lock(today), 1, nx=True,
                                                         ex=ROLL_LOCK_S):
        done += _roll(projection, today, now)
    return done


def _roll(projection: RedisProjection, today: int, now: datetime) -> int:
    """Re-score every ranked user for the new day; marked done only once it is."""
    client, k = projection.client(), projection.keys
    users: set[int] = set()
    for key in (k.problems("month"), k.engagement, k.problems("week"), k.problems("day")):
        users.update(int(u) for u in cast(list[str], client.zrange(key, 0, -1)))
    log.info("windows roll to %s: re-scoring %d users", now.date(), len(users))
    try:
        done = rescore_all(projection, users, now)
    except BaseException:
        client.delete(k.roll_lock(today))       # let the next tick try again
        raise
    client.set(k.rolled, str(today))
    return done


def rescore_all(projection: RedisProjection, users: set[int], now: datetime) -> int:
    """Re-score ``users`` in chunks, so Redis never runs one huge script."""
    ordered, done = sorted(users), 0
    for start in range(0, len(ordered), RESCORE_CHUNK):
        done += projection.rescore(rollups.TouchedUsers(), now,
                                   set(ordered[start:start + RESCORE_CHUNK]))
    return done
