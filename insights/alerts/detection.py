"""Alert detection: the rules' states and the alerts they fire, recorded in one transaction.

The consumer's projection re-scores users (``consumers.scores``) and hands each
user's readings here with the re-score's stamp (Redis time, µs, taken before
anything was read). For every enabled rule that applies to the user, the state
is read with a row lock, ``rules.evaluate`` gives the new state and the change,
and states and alerts are written and committed together. A replayed batch
reads the states its first run committed, so it finds no change to record; an
alert is also keyed by (rule, user, crossing, kind), so nothing can record it
twice. A reading older than the state's stamp (a slower consumer during a
rebalance) is ignored, as ``rank.lua`` ignores its scores.

History is not news: readings behind a batch whose newest event is older than
``NEWS_HORIZON`` (an import, the demo's history, a backlog after a long outage)
are observed, not announced (``rules.observe``): the states' last values move on
but nothing fires or resolves, so a user still past a threshold fires at their
first recent event, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from psycopg2.extras import execute_values

from insights.alerts.rules import Change, Metric, Rule, State, Value, evaluate, observe
from insights.alerts.store import CHANNEL, load_rules
from insights.database import Connection

log = logging.getLogger(__name__)
RULES_TTL_S = 5.0
#: A batch whose newest event is older than this runs no alert rule.
NEWS_HORIZON = timedelta(hours=1)
_json = msgspec.json.Encoder().encode


def is_news(newest: datetime | None, now: datetime) -> bool:
    """Whether readings behind an event of time ``newest`` (None: no event, e.g. the
    midnight roll or an expired lock) are announced at ``now``."""
    return newest is None or now - newest <= NEWS_HORIZON


@dataclass(frozen=True)
class Reading:
    """One user's metrics as a re-score found them; ``detail`` gives what an alert about
    one metric carries (the user, the score's components...), asked only for a change."""

    user_id: int
    role: str | None
    values: Mapping[Metric, Value]
    detail: Callable[[Metric], dict[str, Any]] = field(compare=False)


@dataclass
class Detector:
    """Evaluates the enabled rules on readings; the rules are read again every few seconds."""

    rules_ttl_s: float = RULES_TTL_S
    _rules: list[Rule] = field(default_factory=list)
    _read_at: float = float("-inf")

    def detect(self, conn: Connection, readings: Sequence[Reading], stamp: int,
               now: datetime, *, announce: bool = True) -> int:
        """Record what ``readings`` change, committed on ``conn``; returns the alerts added
        (none when not ``announce``: the states only observe the readings)."""
        rules = self._enabled(conn)
        pairs = [(rule, reading) for reading in readings for rule in rules
                 if rule.metric in reading.values and rule.applies_to(reading.role)]
        if not pairs:
            return 0
        stored = _lock_states(conn, pairs)
        states, alerts = [], []
        for rule, reading in pairs:
            before, seen = stored.get((rule.id, reading.user_id), (State(), -1))
            if seen > stamp:
                continue                       # a newer reading was recorded already
            value = reading.values[rule.metric]
            if announce:
                after, change = evaluate(rule, before, value, now)
            else:
                after, change = observe(rule, before, value, now), None
            if change is not None:
                alerts.append(_alert_row(rule, reading, change, now))
            if _worth_keeping(rule, before, after, change, seen):
                states.append(_state_row(rule, reading.user_id, after, stamp))
        added = _write(conn, states, alerts)
        conn.commit()
        return added

    def _enabled(self, conn: Connection) -> list[Rule]:
        if time.monotonic() - self._read_at >= self.rules_ttl_s:
            self._rules = [r for r in load_rules(conn) if r.enabled]
            self._read_at = time.monotonic()
        return self._rules


_LOCK = """
SELECT s.rule_id, s.user_id, s.firing, s.value, s.crossings, s.fired_at, s.history, s.stamp
FROM alert_states s
JOIN unnest(%s::bigint[], %s::bigint[]) AS k(rule_id, user_id)
  ON s.rule_id = k.rule_id AND s.user_id = k.user_id
ORDER BY s.rule_id, s.user_id
FOR UPDATE OF s"""


def _lock_states(conn: Connection, pairs: Sequence[tuple[Rule, Reading]]
                 ) -> dict[tuple[int, int], tuple[State, int]]:
    """The stored states of ``pairs``, locked until the commit (in key order: two
    consumers locking the same users cannot deadlock on the order)."""
    with conn.cursor() as cur:
        cur.execute(_LOCK, ([r.id for r, _ in pairs], [u.user_id for _, u in pairs]))
        found = {}
        for rule_id, user_id, firing, value, crossings, fired_at, history, stamp in cur:
            state = State(firing, value, crossings, fired_at,
                          tuple((float(t), int(v)) for t, v in history))
            found[rule_id, user_id] = (state, stamp)
    return found


def _worth_keeping(rule: Rule, before: State, after: State, change: Change | None,
                   seen: int) -> bool:
    """Whether ``after`` must be written: a user whose rule has nothing to remember
    (never fired, no rise history, no status to compare with) gets no row."""
    if change is not None or after.firing != before.firing or after.history != before.history:
        return True
    if rule.kind == "transition":
        return after.value != before.value or seen < 0
    return False


def _state_row(rule: Rule, user_id: int, state: State, stamp: int) -> tuple[Any, ...]:
    value = None if state.value is None else str(state.value)
    return (rule.id, user_id, state.firing, value, state.crossings, state.fired_at,
            _json([list(p) for p in state.history]).decode(), stamp)


def _alert_row(rule: Rule, reading: Reading, change: Change, now: datetime
               ) -> tuple[Any, ...]:
    detail = reading.detail(rule.metric)
    previous = None if change.previous is None else str(change.previous)
    return (rule.id, reading.user_id, change.crossing, change.kind, str(change.value),
            previous, _json(detail).decode(), now)


_UPSERT_STATES = """
INSERT INTO alert_states (rule_id, user_id, firing, value, crossings, fired_at, history, stamp)
VALUES %s
ON CONFLICT (rule_id, user_id) DO UPDATE SET
  firing = excluded.firing, value = excluded.value, crossings = excluded.crossings,
  fired_at = excluded.fired_at, history = excluded.history, stamp = excluded.stamp
WHERE alert_states.stamp <= excluded.stamp"""
_INSERT_ALERTS = """
INSERT INTO alerts (rule_id, user_id, crossing, kind, value, previous, detail, occurred_at)
VALUES %s
ON CONFLICT (rule_id, user_id, crossing, kind) DO NOTHING"""


def _write(conn: Connection, states: list[tuple[Any, ...]], alerts: list[tuple[Any, ...]]
           ) -> int:
    with conn.cursor() as cur:
        if states:
            execute_values(cur, _UPSERT_STATES, states,
                           template="(%s, %s, %s, %s, %s, %s, %s::jsonb, %s)")
        if not alerts:
            return 0
        added = len(execute_values(cur, _INSERT_ALERTS + " RETURNING id", alerts,
                                   template="(%s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
                                   fetch=True))
        if added:
            cur.execute(f"NOTIFY {CHANNEL}")       # the dispatchers wake at the commit
    if added:
        log.info("%d alerts recorded", added)
    return added
