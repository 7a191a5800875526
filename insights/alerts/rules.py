"""Alert rules and what one observation of a user does to a rule's state (pure, no I/O).

A rule watches one metric of a user, read each time the consumer re-scores the
user (a batch touched them, a lock expired, or the windows rolled at midnight):

- ``threshold``: fires when the value reaches ``threshold`` (T) while the rule is not
  firing for the user; resolves when it falls below T - ``hysteresis``.
- ``rise``: fires when the value is at least ``threshold`` (D) points above its
  lowest reading of the last ``window_minutes`` (W); resolves when the rise over
  the window is below D - ``hysteresis``.
- ``transition``: fires when the status goes from ``from_status`` (``*``: any
  other) to ``to_status``; resolves when it leaves ``to_status``.

A firing is suppressed while the user's last one for the rule is younger than
``cooldown_s`` seconds: the state stays "not firing", so a value still past the
threshold fires at the first observation after the cooldown. Every firing gets
the next ``crossing`` number of its (rule, user): the key that makes a replayed
batch unable to record it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal

Kind = Literal["threshold", "rise", "transition"]
Metric = Literal["problem_day", "problem_week", "problem_month", "engagement", "locked",
                 "status"]
Severity = Literal["info", "warning", "critical"]
Value = int | str
"""A metric's reading: points (problem and engagement scores), 1/0 (locked) or a status."""

KINDS: Final[tuple[Kind, ...]] = ("threshold", "rise", "transition")
METRICS: Final[tuple[Metric, ...]] = ("problem_day", "problem_week", "problem_month",
                                      "engagement", "locked", "status")
SEVERITIES: Final[tuple[Severity, ...]] = ("info", "warning", "critical")
STATUSES: Final = ("active", "at_risk", "dormant")
ANY: Final = "*"


@dataclass(frozen=True)
class Rule:
    """One alert rule (a row of ``alert_rules``)."""

    id: int
    name: str
    kind: Kind
    metric: Metric
    severity: Severity = "warning"
    threshold: int = 0                 # T (threshold) or D (rise), in points
    hysteresis: int = 0                # points
    window_minutes: int = 0            # W (rise)
    from_status: str = ANY             # transition
    to_status: str = ""                # transition
    roles: tuple[str, ...] | None = None    # None: every tracked user
    cooldown_s: int = 3600
    enabled: bool = True

    def applies_to(self, role: str | None) -> bool:
        return self.roles is None or (role is not None and role in self.roles)


@dataclass(frozen=True)
class State:
    """What a rule remembers of one user (a row of ``alert_states``)."""

    firing: bool = False
    value: Value | None = None          # the last reading
    crossings: int = 0                  # firings so far; the last one's number
    fired_at: datetime | None = None    # the last firing (cooldown)
    history: tuple[tuple[float, int], ...] = field(default=())  # rise: (epoch s, value)


@dataclass(frozen=True)
class Change:
    """A firing or a resolution to record: ``crossing`` is the firing's number."""

    kind: Literal["firing", "resolved"]
    crossing: int
    value: Value
    previous: Value | None


def evaluate(rule: Rule, state: State, value: Value, at: datetime
             ) -> tuple[State, Change | None]:
    """The state after reading ``value`` at ``at``, and the change it makes, if any."""
    history = _history(rule, state, value, at)
    now_firing = _condition(rule, state, value, history)
    base = replace(state, value=value, history=history)
    if state.firing and not _holds(rule, state, value, history):
        return (replace(base, firing=False),
                Change("resolved", state.crossings, value, state.value))
    if state.firing or not now_firing:
        return base, None
    if state.fired_at is not None and at < state.fired_at + timedelta(seconds=rule.cooldown_s):
        return base, None             # cooling down: fires later if it still holds
    crossing = state.crossings + 1
    return (replace(base, firing=True, crossings=crossing, fired_at=at),
            Change("firing", crossing, value, state.value))


def observe(rule: Rule, state: State, value: Value, at: datetime) -> State:
    """The state after reading ``value`` at ``at`` without announcing anything (history):
    the last value and a rise rule's window move on, whether it fires does not, so a
    condition that still holds when news comes fires then, and a status transition is
    measured from where history left the user."""
    return replace(state, value=value, history=_history(rule, state, value, at))


def _condition(rule: Rule, state: State, value: Value,
               history: tuple[tuple[float, int], ...]) -> bool:
    """Whether a rule not firing fires on ``value``."""
    if rule.kind == "transition":
        before = state.value
        return (value == rule.to_status and before != value and before is not None
                and rule.from_status in (ANY, before))
    if not isinstance(value, int):
        return False
    if rule.kind == "threshold":
        return value >= rule.threshold
    return _rise(value, history) >= rule.threshold


def _holds(rule: Rule, state: State, value: Value,
           history: tuple[tuple[float, int], ...]) -> bool:
    """Whether a firing rule is still firing on ``value`` (hysteresis applied)."""
    if rule.kind == "transition":
        return value == rule.to_status
    if not isinstance(value, int):
        return False
    if rule.kind == "threshold":
        return value >= rule.threshold - rule.hysteresis
    return _rise(value, history) >= rule.threshold - rule.hysteresis


def _rise(value: int, history: tuple[tuple[float, int], ...]) -> int:
    """Points above the lowest reading of the window (0 without earlier readings)."""
    return value - min((v for _, v in history), default=value)


def _history(rule: Rule, state: State, value: Value, at: datetime
             ) -> tuple[tuple[float, int], ...]:
    """A rise rule's readings within its window, ``value`` at ``at`` included."""
    if rule.kind != "rise" or not isinstance(value, int):
        return ()
    now = at.timestamp()
    oldest = now - rule.window_minutes * 60
    kept = tuple(p for p in state.history if oldest <= p[0] <= now)
    if kept and kept[-1][1] == value:
        return kept               # unchanged: the older reading keeps the window's start
    return (*kept, (now, value))[-_HISTORY_MAX:]


#: Readings a rise rule keeps per user (the lowest of a window is all it needs, but a
#: reading leaves the window as it ages: a few dozen cover any realistic W).
_HISTORY_MAX: Final = 64
