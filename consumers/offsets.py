"""Where each stage stands: the next offsets it stored, read without building a stage.

The consumer seeks every partition it is assigned to the lowest next offset its
stages stored: the durable write's in ``sink_offsets`` (PostgreSQL), the
projection's in the read model's offsets hash (Redis). A read model judged lost
(``consumers.guard``) stands where the durable write is: its rebuild, at the
next batch, brings it there. So does one whose offsets fell behind the first
record Kafka still keeps (``behind_the_log``): the records in between are only
in PostgreSQL, so PostgreSQL stops vouching for it (``condemn``), and the
consumers rebuild it or stop with the command that does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import closing

import psycopg2
import redis

from consumers.protocol import SinkUnavailable
from insights.database import Connection, connect
from insights.events.kafka import Partition
from insights.readmodel import generation
from insights.readmodel.generation import State
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import connect as redis_connect

log = logging.getLogger(__name__)
#: The name the durable write's offsets are stored under in ``sink_offsets``.
DURABLE = "postgres"

_DURABLE_OFFSETS = """
SELECT topic, "partition", next_offset FROM sink_offsets
WHERE sink = %s AND (topic, "partition") IN %s"""


def durable_offsets(conn: Connection, partitions: Sequence[Partition]) -> dict[Partition, int]:
    """The durable write's next offset per partition, for those it has seen."""
    if not partitions:
        return {}
    with conn.cursor() as cur:
        cur.execute(_DURABLE_OFFSETS, (DURABLE, tuple(partitions)))
        found = {(t, p): o for t, p, o in cur.fetchall()}
    conn.commit()
    return found


def durable(postgres_url: str, partitions: Sequence[Partition]) -> dict[Partition, int]:
    """``durable_offsets`` on a connection of its own (``SinkUnavailable`` on an outage)."""
    try:
        with closing(connect(postgres_url)) as conn:
            return durable_offsets(conn, partitions)
    except psycopg2.Error as exc:
        raise SinkUnavailable(f"PostgreSQL: {str(exc).strip() or type(exc).__name__}") from exc


def projected(redis_url: str, postgres_url: str, prefix: str,
              partitions: Sequence[Partition]) -> dict[Partition, int]:
    """The projection's next offset per partition: the read model's, or the durable
    write's when the read model is lost (``SinkUnavailable`` on an outage)."""
    from consumers.guard import verdict

    if not partitions:
        return {}
    keys = Keys(prefix)
    try:
        with closing(redis_connect(redis_url)) as client, \
                closing(connect(postgres_url)) as conn:
            judged, used = verdict(client, conn, keys)
            if judged.state is State.LOST:
                return durable_offsets(conn, partitions)
            if used is None:                  # a fresh prefix: nothing stored yet
                return {}
            values = client.hmget(keys.at(used).offsets, [f"{t}:{p}" for t, p in partitions])
    except redis.RedisError as exc:
        raise SinkUnavailable(f"Redis: {exc}") from exc
    except psycopg2.Error as exc:
        raise SinkUnavailable(f"PostgreSQL (read for the projection): {exc}") from exc
    return {part: int(v) for part, v in zip(partitions, values, strict=True) if v is not None}


def behind_the_log(projected: dict[Partition, int], starts: dict[Partition, int]
                   ) -> list[Partition]:
    """The partitions whose projection stands before the first record Kafka still keeps
    (``starts``): it can no longer catch up by reading them."""
    return sorted(p for p, offset in projected.items() if offset < starts.get(p, 0))


def condemn(redis_url: str, postgres_url: str, prefix: str, behind: Sequence[Partition]
            ) -> None:
    """PostgreSQL stops vouching for the read model under ``prefix``, whose offsets of the
    ``behind`` partitions are behind Kafka's log (readers answer "rebuilding"), and Redis
    no longer names it in use: the consumers' guard then rebuilds it
    (``INSIGHTS_REDIS_REBUILD=auto``) or stops with the command."""
    log.error("the Redis read model under %r stands before the first record Kafka keeps "
              "on %d partitions (%s): the records in between are only in PostgreSQL. It is "
              "no longer served; it is rebuilt from PostgreSQL (or run 'insights backfill')",
              prefix, len(behind), ", ".join(f"{t}:{p}" for t, p in behind[:3]))
    try:
        with closing(connect(postgres_url)) as conn:
            generation.record(conn, prefix, generation.CONDEMNED)
        with closing(redis_connect(redis_url)) as client:
            # a build begun before goes too: it took over at offsets now out of reach
            client.delete(Keys(prefix).generation, Keys(prefix).building)
    except psycopg2.Error as exc:
        raise SinkUnavailable(f"PostgreSQL: {exc}") from exc
    except redis.RedisError as exc:
        raise SinkUnavailable(f"Redis: {exc}") from exc
