"""Users' counters and rankings: recount what a batch touched, store it, re-rank the users.

The projection runs after the durable write has committed the batch, so the
recount (``consumers.rollups``) reads absolute values; ``counters.lua`` keeps a
day only for a later reading and answers each user's window sums, from which
``consumers.ranking`` computes what ``rank.lua`` stores.

Counter hashes are stored and read with one script call per hash-tag group
(``insights.readmodel.keys.COUNTER_GROUPS``), all in one pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

import msgspec
import psycopg2

from consumers import ranking, rollups
from insights.alerts.detection import Detector, Reading, is_news
from insights.database import Connection
from insights.readmodel import recount, userstate
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import Client, CounterCall, Scripts, counter_sums
from scoring.windows import day_number

KEEP_DAYS = 62        # days kept: the month window and the month before it (wow) + slack
TTL_S = KEEP_DAYS * 86400
_json = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Recount:
    """What a recount found: day counters per user, JS errors per user's session and
    day, security alerts per e-mail and day."""

    users: dict[int, recount.Days]
    errors: recount.SessionErrors
    alerts: dict[str, recount.Days]


class Scores:
    """Re-scores users for the projection (see the module docstring)."""

    def __init__(self, keys: Keys, postgres: Callable[[], Connection],
                 redis: Callable[[], Client], scripts: Callable[[], Scripts]) -> None:
        self.keys = keys
        self._postgres, self._redis, self._scripts = postgres, redis, scripts
        #: The alert rules' detection, run on every re-score (None: no alerts, as while
        #: the read model is rebuilt from history).
        self.detector: Detector | None = None

    def rescore(self, touched: rollups.TouchedUsers, now: datetime,
                users: Collection[int] = (), *, full: bool = False,
                newest: datetime | None = None) -> int:
        """Recount the touched users' and e-mails' days, then re-rank those users;
        returns how many were ranked.

        The stamp is taken before anything is read, so a slower writer's older
        reading can never replace a newer one. ``full`` recounts every kept day.
        ``newest`` is the time of the newest event behind the re-score: when it
        is older than ``detection.NEWS_HORIZON`` the alert rules only observe the
        readings (see ``detection.is_news``).
        """
        stamp = self._stamp()
        conn = self._postgres()
        try:
            ids = rollups.resolve_users(conn, touched) | set(users)
            rows = userstate.user_rows(conn, ids) if ids else {}
            emails = {r.email for r in rows.values() if r.email}
            counted = self._recount(conn, touched, ids, emails if full else set(), now,
                                    full=full)
            conn.commit()
        except psycopg2.Error:
            conn.rollback()
            raise
        user_sums, email_sums = self._merge(stamp, counted, ids, emails | set(counted.alerts),
                                            now)
        ranked: list[list[str]] = []
        readings: list[Reading] = []
        for uid, row in rows.items():
            sums = userstate.UserSums.kept(user_sums[uid])
            alerts_of = email_sums.get(row.email or "", [0] * 3)
            values = ranking.rank_values(row, sums, alerts_of, now)
            ranked.append([str(uid), *values])
            if self.detector is not None:
                found = ranking.reading(row, sums, alerts_of, values, now)
                readings += [found] if found is not None else []
        k = self.keys
        self._scripts().rank(keys=[*k.ranked_sets(), k.stamps, k.rolled],
                             args=[stamp, _json(ranked).decode(), day_number(now.date())])
        if self.detector is not None and readings:
            self._detect(conn, readings, int(stamp), now, announce=is_news(newest, now))
        return len(rows)

    def _detect(self, conn: Connection, readings: list[Reading], stamp: int,
                now: datetime, *, announce: bool) -> None:
        """The alert rules on the new readings, in a transaction of their own."""
        assert self.detector is not None
        try:
            self.detector.detect(conn, readings, stamp, now, announce=announce)
        except psycopg2.Error:
            conn.rollback()
            raise

    def _recount(self, conn: Connection, touched: rollups.TouchedUsers, ids: set[int],
                 emails: set[str], now: datetime, *, full: bool) -> Recount:
        """Absolute counts of what the batch touched, per user, session and e-mail.

        A user's first upsert may come after its activity: all its kept days are
        recounted then (and for every user, and ``emails``, when ``full``).
        """
        today = day_number(now.date())
        oldest, newest = today - KEEP_DAYS, today + 1      # tomorrow: clocks run ahead
        wanted = recount.ranges({u: touched.users.get(u, set()) for u in ids}, oldest, newest)
        everything = ids if full else touched.upserted & ids
        wanted.update(dict.fromkeys(everything, (oldest, newest)))
        errors = rollups.session_errors(conn, touched, ids, oldest)
        if everything:
            for uid, found in recount.user_session_errors(conn, everything, oldest).items():
                errors[uid] |= found
        alerts = recount.ranges(touched.emails, oldest, newest)
        alerts.update(dict.fromkeys(emails, (oldest, newest)))
        return Recount(recount.user_counters(conn, wanted), errors,
                       recount.email_counters(conn, alerts))

    def _stamp(self) -> str:
        """Redis' clock in µs: the order of readings across consumers."""
        seconds, micros = self._redis().time()
        return str(int(seconds) * 1_000_000 + int(micros))

    def _merge(self, stamp: str, counted: Recount, ids: set[int], emails: set[str],
               now: datetime) -> tuple[dict[int, list[int]], dict[str, list[int]]]:
        """Store the recounted values and read back each user's and e-mail's window sums."""
        today = now.date()
        head: list[str | int] = [day_number(today), day_number(today) - KEEP_DAYS, TTL_S, stamp]
        uq = userstate.script_queries(userstate.user_queries(today), userstate.USER_METRICS)
        aq = userstate.script_queries(userstate.alert_queries(today), userstate.ALERT_METRICS)
        users, addresses = sorted(ids), sorted(emails)
        calls = [CounterCall(self.keys.user(uid), uq,
                             userstate.script_days(counted.users.get(uid), userstate.USER_METRICS),
                             userstate.script_session_errors(counted.errors.get(uid)))
                 for uid in users]
        calls += [CounterCall(self.keys.email(email), aq, userstate.script_days(
                      counted.alerts.get(email), userstate.ALERT_METRICS))
                  for email in addresses]
        sums = counter_sums(self._redis(), self._scripts(), head, calls)
        return (dict(zip(users, sums[:len(users)], strict=True)),
                dict(zip(addresses, sums[len(users):], strict=True)))
