"""How fresh the read model is: the newest applied event, the last batch, the lag.

Every tab and profile document carries it (``freshness``), so a screen that
stopped moving says so instead of being trusted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, NamedTuple

import redis

from insights.readmodel.keys import Keys
from web.documents.common import Freshness

#: A partition's lag measured longer ago than this is not counted (its consumer
#: stopped reporting: it lost the partition or died).
LAG_MAX_AGE_S: Final = 60


def _moment(micros: bytes | None) -> str | None:
    if micros is None:
        return None
    return datetime.fromtimestamp(int(micros) / 1_000_000, UTC).isoformat().replace(
        "+00:00", "Z")


def total_lag(fields: dict[bytes, bytes], now: datetime) -> int | None:
    """Sum of the fresh per-partition lags (records), None when no consumer reported."""
    fresh = [int(lag) for lag, stamp in (value.split() for value in fields.values())
             if now.timestamp() - int(stamp) <= LAG_MAX_AGE_S]
    return sum(fresh) if fresh else None


class Read(NamedTuple):
    """The freshness of the read model, and which generation of it the keys are."""

    freshness: Freshness
    generation: str | None          # ``Keys.generation``
    rebuilding: bool                # a rebuild's lock is held


def read_freshness(client: redis.Redis, keys: Keys, now: datetime) -> Read:
    """``newest_event_at`` (the newest applied event's ``ts``), ``applied_at`` (the last
    batch), both RFC 3339 or None, and ``lag`` (records the consumers are behind, or
    None); with the keys' generation (``web.readcheck``), in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.hmget(keys.freshness, ["newest", "applied"])
    pipe.hgetall(keys.lag)
    pipe.get(keys.generation)
    pipe.exists(keys.rebuild_lock)
    (newest, applied), lags, generation, rebuilding = pipe.execute()
    freshness = Freshness(newest_event_at=_moment(newest), applied_at=_moment(applied),
                          lag=total_lag(lags, now))
    found = generation.decode() if isinstance(generation, bytes) else generation
    return Read(freshness, found, bool(rebuilding))
