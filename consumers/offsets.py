"""Where each stage stands: the next offsets it stored, read without building a stage.

The consumer seeks every partition it is assigned to the lowest next offset its
stages stored: the durable write's in ``sink_offsets`` (PostgreSQL), the
projection's in the read model's offsets hash (Redis). A read model judged lost
(``consumers.guard``) stands where the durable write is: its rebuild, at the
next batch, brings it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing

import psycopg2
import redis

from consumers.protocol import SinkUnavailable
from insights.database import Connection, connect
from insights.events.kafka import Partition
from insights.readmodel.generation import State
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import connect as redis_connect

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
