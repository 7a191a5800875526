"""The Redis sink: live counters, rankings and day aggregates, after PostgreSQL has the batch.

Exactly once, without a cross-key transaction (so it runs on Redis Cluster):

- site-wide increments (``{g}``) go through ``aggregate.lua``, which applies an
  event only above its partition's watermark, in the same script call;
- per-user and per-e-mail day counters are absolute values recounted from the
  PostgreSQL write-through (``consumers.rollups``): a replay rewrites the same
  numbers, and ``counters.lua`` only ever raises a field;
- rankings are scores recomputed from that state (``consumers.ranking``),
  stamped so an older computation never replaces a newer one.

The sink's offsets are written last; a crash before that replays the batch,
which changes nothing the first run stored. It must run after the PostgreSQL
sink in the same writer (the recounts read what that sink wrote).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import msgspec
import psycopg2
import redis

from consumers import ranking, rollups
from consumers.aggregates import Increments, script_args
from consumers.batch import Accepted, Item, Rejected, next_offsets
from consumers.sink import SinkUnavailable, WriteResult
from consumers.snapshots import Snapshots
from insights import userstate
from insights.database import Connection, connect
from insights.kafka import Partition
from insights.keys import Keys
from insights.redisdb import Client, Scripts
from insights.redisdb import connect as redis_connect
from scoring.pages import DEFAULT_SECTIONS, SectionMap
from scoring.windows import day_number

log = logging.getLogger(__name__)
SINK = "redis"
KEEP_DAYS = 40        # day counters kept: the 31-day windows plus slack for late events
_TTL_S = KEEP_DAYS * 86400
_json = msgspec.json.Encoder().encode


class RedisSink:
    """Second sink of the consumer; see the module docstring."""

    name = SINK

    def __init__(self, redis_url: str, postgres_url: str, prefix: str,
                 sections: Mapping[str, Sequence[str]] | None = None) -> None:
        self._redis_url, self._postgres_url = redis_url, postgres_url
        self.keys = Keys(prefix)
        self._sections: SectionMap = sections or DEFAULT_SECTIONS
        self._client: Client | None = None
        self._scripts: Scripts | None = None
        self._conn: Connection | None = None
        self._sessions: Snapshots | None = None

    def stored_offsets(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        if not partitions:
            return {}
        try:
            values = self._redis().hmget(self.keys.offsets, [f"{t}:{p}" for t, p in partitions])
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return {part: int(v) for part, v in zip(partitions, values, strict=True) if v is not None}

    def write(self, items: Sequence[Item]) -> WriteResult:
        accepted = [i for i in items if isinstance(i, Accepted)]
        try:
            self._aggregate(accepted)
            self._snapshots().apply(self._postgres(), [a.event for a in accepted])
            self.rescore(rollups.touched(a.event for a in accepted), datetime.now(UTC))
            self.save_offsets(next_offsets(items))
        except redis.RedisError as exc:
            if not _transient(exc):
                raise                 # a bug (say, in a script): retrying cannot help
            raise self._unavailable(exc) from exc
        except psycopg2.Error as exc:
            self._close_postgres()
            raise SinkUnavailable(f"PostgreSQL (read by the Redis sink): {exc}") from exc
        return WriteResult(accepted, 0, 0, [i for i in items if isinstance(i, Rejected)])

    def rescore(self, touched: rollups.Touched, now: datetime,
                users: set[int] | None = None) -> int:
        """Recount the touched users' and e-mails' days, then re-rank those users."""
        conn = self._postgres()
        ids = rollups.resolve_users(conn, touched) | (users or set())
        rows = userstate.user_rows(conn, ids) if ids else {}
        counts: dict[int, rollups.Fields] = {}
        alerts: dict[str, rollups.Fields] = {}
        if touched.first is not None:
            lo, hi = rollups.day_span(touched)
            counts = rollups.user_counters(conn, rows, lo, hi)
            alerts = rollups.email_counters(conn, touched.emails, lo, hi)
        conn.commit()
        emails = {r.email for r in rows.values() if r.email} | set(alerts)
        user_sums, email_sums, stamp = self._merge(counts, alerts, rows, emails, now)
        ranked: list[list[str]] = []
        for uid, row in rows.items():
            sums = userstate.UserSums.parse(user_sums[uid])
            alerts_of = email_sums.get(row.email or "", [0] * 3)
            ranked.append([str(uid), *ranking.rank_values(row, sums, alerts_of, now)])
        k = self.keys
        self._scripts_().rank(keys=[k.problems("day"), k.problems("week"), k.problems("month"),
                                    k.engagement, k.logins, k.created, k.locks, k.stamps],
                              args=[stamp, _json(ranked).decode()])
        return len(rows)

    def _merge(self, counts: dict[int, rollups.Fields], alerts: dict[str, rollups.Fields],
               rows: Mapping[int, userstate.UserRow], emails: set[str], now: datetime
               ) -> tuple[dict[int, list[int]], dict[str, list[int]], int]:
        """Store the recounted fields and read back each user's and e-mail's window sums."""
        today = now.date()
        head = [day_number(today), day_number(today) - KEEP_DAYS, _TTL_S]
        uq = _json(userstate.user_queries(today)).decode()
        aq = _json(userstate.alert_queries(today)).decode()
        scripts, pipe = self._scripts_(), self._redis().pipeline(transaction=False)
        pipe.time()
        for uid in rows:
            fields = counts.get(uid, {})
            scripts.counters(keys=[self.keys.user(uid)], client=pipe,
                             args=[*head, _json(fields).decode(), uq])
        for email in emails:
            fields = alerts.get(email, {})
            scripts.counters(keys=[self.keys.email(email)], client=pipe,
                             args=[*head, _json(fields).decode(), aq])
        replies = pipe.execute()
        seconds, micros = replies[0]
        user_sums = dict(zip(rows, replies[1:1 + len(rows)], strict=True))
        email_sums = dict(zip(emails, replies[1 + len(rows):], strict=True))
        return user_sums, email_sums, int(seconds) * 1_000_000 + int(micros)

    def _aggregate(self, accepted: Sequence[Accepted]) -> None:
        if not accepted:
            return
        inc = Increments(self.keys, self._sections)
        argv = script_args(inc, ((f"{a.record.topic}:{a.record.partition}", a.record.offset,
                                  a.event) for a in accepted))
        pipe = self._redis().pipeline(transaction=False)
        self._scripts_().aggregate(keys=[self.keys.watermarks], args=[argv], client=pipe)
        for name in inc.names:
            pipe.expire(name, _TTL_S)
        pipe.execute()

    def save_offsets(self, offsets: dict[Partition, int]) -> None:
        """Raise the stored next offsets to ``offsets`` (never lowers one); announce it."""
        if offsets:
            pipe = self._redis().pipeline(transaction=False)
            self._scripts_().maxset(keys=[self.keys.offsets], client=pipe, args=[
                x for (t, p), o in offsets.items() for x in (f"{t}:{p}", o)])
            pipe.publish(self.keys.changes, datetime.now(UTC).isoformat())
            pipe.execute()

    def align_watermarks(self, last: dict[Partition, int]) -> None:
        """Raise the ``{g}`` watermarks to these last applied offsets (after a backfill)."""
        if last:
            self._scripts_().maxset(keys=[self.keys.watermarks], args=[
                x for (t, p), o in last.items() for x in (f"{t}:{p}", o)])

    def clear(self) -> int:
        """Delete every key under this sink's prefix; returns how many."""
        client, deleted = self._redis(), 0
        batch: list[str] = []
        for key in client.scan_iter(match=f"{self.keys.prefix}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                deleted += int(client.unlink(*batch))
                batch.clear()
        if batch:
            deleted += int(client.unlink(*batch))
        return deleted

    def tick(self, now: datetime) -> int:
        """Re-score everybody once after midnight and users whose lock just expired."""
        client, k = self._redis(), self.keys
        expired = cast(list[str], client.zrangebyscore(k.locks, 0, now.timestamp()))
        users = {int(u) for u in expired}
        today = str(day_number(now.date()))
        first = client.get(k.rolled) != today
        if first and client.set(k.roll_lock(int(today)), 1, nx=True, ex=600):
            for key in (k.problems("month"), k.engagement, k.problems("week"), k.problems("day")):
                users.update(int(u) for u in cast(list[str], client.zrange(key, 0, -1)))
            log.info("windows rolled to %s: re-scoring %d users", now.date(), len(users))
            client.set(k.rolled, today)
        return self.rescore(rollups.Touched(), now, users) if users else 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = self._scripts = self._sessions = None
        self._close_postgres()

    def _redis(self) -> Client:
        if self._client is None:
            self._client = redis_connect(self._redis_url)
        return self._client

    def _scripts_(self) -> Scripts:
        if self._scripts is None:
            self._scripts = Scripts(self._redis())
        return self._scripts

    def _snapshots(self) -> Snapshots:
        if self._sessions is None:
            self._sessions = Snapshots(self._redis(), self._scripts_(), self.keys, self._sections)
        return self._sessions

    def _postgres(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._postgres_url)
        return self._conn

    def _close_postgres(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def _unavailable(self, exc: redis.RedisError) -> SinkUnavailable:
        self.close()
        return SinkUnavailable(f"Redis: {exc}")


_TRANSIENT_REPLIES = ("OOM", "BUSY", "LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN",
                      "READONLY", "NOSCRIPT")


def _transient(exc: redis.RedisError) -> bool:
    """Connection trouble or a server busy for now, as opposed to a refused command."""
    if isinstance(exc, redis.ResponseError):
        return str(exc).startswith(_TRANSIENT_REPLIES)
    return True
