"""Users' counters and rankings: recount what a batch touched, store it, re-rank the users.

The Redis sink runs after the PostgreSQL sink has stored the batch, so the
recount (``consumers.rollups``) reads absolute values; ``counters.lua`` keeps a
day only for a later reading and answers each user's window sums, from which
``consumers.ranking`` computes what ``rank.lua`` stores.

The touched users are split into ``workers`` groups, each recounted, stored and
ranked on its own PostgreSQL connection and thread, so one group's waits on a
server overlap another's. Users sharing an e-mail stay in one group (their
alerts are stored and read in the same pipeline).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

import msgspec
import psycopg2

from consumers import ranking, rollups
from insights import userstate
from insights.database import Connection
from insights.keys import Keys
from insights.redisdb import Client, Scripts
from insights.userstate import UserRow
from scoring.windows import day_number

KEEP_DAYS = 62        # days kept: the month window and the month before it (wow) + slack
TTL_S = KEEP_DAYS * 86400
_json = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Recount:
    """What a recount found: day counters per user, JS errors per user's session and
    day, security alerts per e-mail and day."""

    users: dict[int, rollups.Days]
    errors: rollups.SessionErrors
    alerts: dict[str, rollups.Days]


@dataclass(frozen=True)
class Pass:
    """One re-scoring: what the batch touched, as of when, under which stamp."""

    touched: rollups.Touched
    now: datetime
    stamp: str
    full: bool


@dataclass(frozen=True)
class Group:
    """The users (with their rows, where they have one) and e-mails one worker handles."""

    ids: set[int]
    rows: dict[int, UserRow]
    emails: set[str]


class Scores:
    """Re-scores users for the Redis sink (see the module docstring)."""

    def __init__(self, keys: Keys, postgres: Callable[[str], Connection],
                 redis: Callable[[], Client], scripts: Callable[[], Scripts],
                 workers: int = 2) -> None:
        self.keys = keys
        self._postgres, self._redis, self._scripts = postgres, redis, scripts
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers - 1),
                                        thread_name_prefix="redis-scores")

    def rescore(self, touched: rollups.Touched, now: datetime,
                users: Collection[int] = (), *, full: bool = False) -> int:
        """Recount the touched users' and e-mails' days, then re-rank those users.

        The stamp is taken before anything is read, so a slower writer's older
        reading can never replace a newer one. ``full`` recounts every kept day.
        """
        stamp = self._stamp()
        conn = self._postgres("scores-0")
        try:
            ids = rollups.resolve_users(conn, touched) | set(users)
            rows = userstate.user_rows(conn, ids) if ids else {}
            conn.commit()
        except psycopg2.Error:
            conn.rollback()
            raise
        alerted = {email for email, days in touched.emails.items() if days}
        groups = self._split(ids, rows, alerted)
        job = Pass(touched, now, stamp, full)
        later = [self._pool.submit(self._group, n, g, job) for n, g in enumerate(groups[1:], 1)]
        try:
            done = self._group(0, groups[0], job)
        finally:
            wait(later)        # no group is left running when an error propagates
        return done + sum(group.result() for group in later)

    def _split(self, ids: set[int], rows: dict[int, UserRow], emails: set[str]) -> list[Group]:
        groups = [Group(set(), {}, set()) for _ in range(self._workers)]

        def of(name: str) -> Group:
            return groups[zlib.crc32(name.encode()) % len(groups)]

        for uid in ids:
            row = rows.get(uid)
            group = of(row.email if row and row.email else f"#{uid}")
            group.ids.add(uid)
            if row is not None:
                group.rows[uid] = row
                if row.email:
                    group.emails.add(row.email)
        for email in emails:
            of(email).emails.add(email)
        return groups

    def _group(self, n: int, group: Group, job: Pass) -> int:
        """Recount, store and rank one group on connection ``scores-n``; returns how
        many users were ranked."""
        if not group.ids and not group.emails:
            return 0
        now, stamp = job.now, job.stamp
        conn = self._postgres(f"scores-{n}")
        try:
            counted = self._recount(conn, group, job.touched, now, full=job.full)
            conn.commit()
        except psycopg2.Error:
            conn.rollback()
            raise
        user_sums, email_sums = self._merge(stamp, counted, group, now)
        ranked: list[list[str]] = []
        for uid, row in group.rows.items():
            sums = userstate.UserSums.parse(user_sums[uid])
            alerts_of = email_sums.get(row.email or "", [0] * 3)
            ranked.append([str(uid), *ranking.rank_values(row, sums, alerts_of, now)])
        k = self.keys
        self._scripts().rank(keys=[k.problems("day"), k.problems("week"), k.problems("month"),
                                   k.engagement, k.logins, k.created, k.locks, k.stamps,
                                   k.rolled],
                             args=[stamp, _json(ranked).decode(), day_number(now.date())])
        return len(group.rows)

    def _recount(self, conn: Connection, group: Group, touched: rollups.Touched,
                 now: datetime, *, full: bool) -> Recount:
        """Absolute counts of what the batch touched, per user, session and e-mail.

        A user's first upsert may come after its activity: all its kept days are
        recounted then (and for every user when ``full``).
        """
        today = day_number(now.date())
        oldest, newest = today - KEEP_DAYS, today + 1      # tomorrow: clocks run ahead
        ids = group.ids
        wanted = rollups.ranges({u: touched.users.get(u, set()) for u in ids}, oldest, newest)
        everything = ids if full else touched.upserted & ids
        wanted.update(dict.fromkeys(everything, (oldest, newest)))
        errors = rollups.session_errors(conn, touched, ids, oldest)
        if everything:
            for uid, found in rollups.user_session_errors(conn, everything, oldest).items():
                errors[uid] |= found
        alert_days = {e: touched.emails[e] for e in group.emails if e in touched.emails}
        return Recount(rollups.user_counters(conn, wanted), errors,
                       rollups.email_counters(conn, rollups.ranges(alert_days, oldest, newest)))

    def _stamp(self) -> str:
        """Redis' clock in µs: the order of readings across consumers."""
        seconds, micros = self._redis().time()
        return str(int(seconds) * 1_000_000 + int(micros))

    def _merge(self, stamp: str, counted: Recount, group: Group, now: datetime
               ) -> tuple[dict[int, list[int]], dict[str, list[int]]]:
        """Store the recounted values and read back each user's and e-mail's window sums."""
        today = now.date()
        head: list[str | int] = [day_number(today), day_number(today) - KEEP_DAYS, TTL_S, stamp]
        uq = userstate.script_queries(userstate.user_queries(today), userstate.USER_METRICS)
        aq = userstate.script_queries(userstate.alert_queries(today), userstate.ALERT_METRICS)
        scripts, pipe = self._scripts(), self._redis().pipeline(transaction=False)
        users, addresses = sorted(group.ids), sorted(group.emails)
        for uid in users:
            days = userstate.script_days(counted.users.get(uid), userstate.USER_METRICS)
            errors = userstate.script_session_errors(counted.errors.get(uid))
            scripts.counters(keys=[self.keys.user(uid)], client=pipe,
                             args=[*head, days, uq, errors])
        for email in addresses:
            days = userstate.script_days(counted.alerts.get(email), userstate.ALERT_METRICS)
            scripts.counters(keys=[self.keys.email(email)], client=pipe, args=[*head, days, aq])
        replies = pipe.execute()
        return (dict(zip(users, replies[:len(users)], strict=True)),
                dict(zip(addresses, replies[len(users):], strict=True)))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
