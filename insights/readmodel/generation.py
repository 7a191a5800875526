"""The read model's generation: which build of the Redis keys PostgreSQL vouches for.

PostgreSQL records, per key prefix, the generation of the last complete build of
the Redis read model (table ``read_models``); Redis holds the generation of the
keys it has (``Keys.generation``). While the two match, the keys are that build,
kept up to date by the consumers. A Redis that lost its data (restarted empty,
flushed, failed over to an empty replica) holds no generation, or another one:
the consumers then rebuild the read model or stop with the command that does,
and the web app answers "rebuilding" instead of serving wrong numbers.

``judge`` is the decision, a pure function; the SQL and Redis reads are below it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import psycopg2.extensions

from insights.readmodel.keys import LAYOUT, Keys
from insights.readmodel.redisdb import text

EXPECTED_SQL: Final = "SELECT generation FROM read_models WHERE prefix = %s"
_RECORD_SQL: Final = """
INSERT INTO read_models (prefix, generation) VALUES (%s, %s)
ON CONFLICT (prefix) DO UPDATE SET generation = EXCLUDED.generation, built_at = now()"""
_HAS_EVENTS_SQL: Final = "SELECT EXISTS (SELECT 1 FROM sink_offsets WHERE sink = 'postgres')"
#: What to run when the read model must be rebuilt by hand.
REBUILD_COMMAND: Final = "insights backfill"


class State(Enum):
    """What the keys under a prefix are, next to what PostgreSQL vouches for."""

    READY = "ready"       # the generation PostgreSQL vouches for
    FRESH = "fresh"       # nothing anywhere yet: start a new generation
    LOST = "lost"         # not the read model PostgreSQL vouches for: rebuild it


@dataclass(frozen=True)
class Found:
    """What Redis and PostgreSQL hold for one prefix."""

    expected: str | None          # PostgreSQL's generation
    generation: str | None        # Redis's
    layout: str | None            # Redis's key layout version
    redis_has_offsets: bool       # Redis holds offsets of a layout before generations
    postgres_has_events: bool     # the PostgreSQL sink applied anything


@dataclass(frozen=True)
class Verdict:
    state: State
    detail: str = ""


def judge(found: Found) -> Verdict:
    """Whether the keys can be used as they are, started afresh, or must be rebuilt."""
    layout_ok = found.layout in (None, str(LAYOUT))
    if found.generation is not None and found.generation == found.expected:
        if layout_ok:
            return Verdict(State.READY)
        return Verdict(State.LOST, f"the keys have layout {found.layout}; this version "
                                   f"writes {LAYOUT}")
    if found.expected is None and found.generation is None:
        if not found.redis_has_offsets and not found.postgres_has_events:
            return Verdict(State.FRESH)
        if not found.redis_has_offsets:
            return Verdict(State.LOST, "PostgreSQL holds events but Redis has no read model "
                                       "of them")
        return Verdict(State.LOST, f"the keys have layout {found.layout or 1}; this version "
                                   f"writes {LAYOUT}")
    if found.generation is None:
        return Verdict(State.LOST, "Redis has lost the read model (restarted empty, flushed "
                                   "or failed over): its generation is gone")
    vouched = found.expected or "none"
    return Verdict(State.LOST, f"Redis holds generation {found.generation}, PostgreSQL "
                               f"vouches for {vouched}")


def new_generation() -> str:
    """A fresh generation id (short: it is part of every key of the read model)."""
    return uuid.uuid4().hex[:12]


def current(client: Any, keys: Keys) -> Keys | None:
    """The keys of the generation in use under ``keys.prefix``; None when there is none."""
    found = text(client.get(keys.generation))
    return keys.at(found) if found else None


CONDEMNED: Final = "condemned"
"""What PostgreSQL vouches for once the read model was found unusable (its offsets fell
behind Kafka's log): no build has it, so the read model is rebuilt."""
NONE: Final = "none"
"""The generation readers look at while there is none: no keys, so nothing yet."""


class InUse:
    """The keys of the generation in use under a prefix, as a reader last found it: read
    from Redis the first time, then moved by ``follow`` when the reader finds another
    (after a backfill's switch). Readers keep reading the generation they started with:
    the old one outlives the switch a moment (``consumers.backfill.GRACE_S``)."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self._client, self._keys = client, Keys(keys.prefix)
        self._used: str | None = keys.generation_id or None

    @property
    def keys(self) -> Keys:
        """The keys of the generation followed."""
        if self._used is None:
            self._used = text(self._client.get(self._keys.generation)) or NONE
        return self._keys.at(self._used)

    def follow(self, found: str | None) -> bool:
        """Follow the generation ``found`` in use; whether it is another one."""
        moved = (found or NONE) != self._used
        self._used = found or NONE
        return moved


def read_postgres(conn: psycopg2.extensions.connection, prefix: str) -> tuple[str | None, bool]:
    """PostgreSQL's generation for ``prefix`` and whether its sink applied anything."""
    with conn.cursor() as cur:
        cur.execute(EXPECTED_SQL, (prefix,))
        row = cur.fetchone()
        cur.execute(_HAS_EVENTS_SQL)
        has_events = bool(cur.fetchone()[0])  # type: ignore[index]
    conn.commit()
    return (row[0] if row else None), has_events


def record(conn: psycopg2.extensions.connection, prefix: str, generation: str) -> None:
    """Vouch for ``generation`` as the read model under ``prefix`` (committed)."""
    with conn.cursor() as cur:
        cur.execute(_RECORD_SQL, (prefix, generation))
    conn.commit()


def read_redis(client: Any, keys: Keys) -> tuple[str | None, str | None, bool]:
    """Redis's generation, layout and whether offsets of an older layout are stored, in
    one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.generation)
    pipe.get(keys.layout)
    pipe.exists(keys.older_offsets)
    generation, layout, offsets = pipe.execute()
    return text(generation), text(layout), bool(offsets)

