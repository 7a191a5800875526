"""Alert rules on one user's readings (``insights.alerts.rules``): fire, resolve, cooldown.

The property that makes detection exactly once under replays: reading the same
value again, from the state the first reading left, changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from insights.alerts.rules import Rule, State, Value, evaluate, observe

T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
THRESHOLD = Rule(1, "problems", "threshold", "problem_week", threshold=60, hysteresis=10,
                 cooldown_s=600)
RISE = Rule(2, "rise", "rise", "problem_day", threshold=30, hysteresis=5, window_minutes=10,
            cooldown_s=0)
AT_RISK = Rule(3, "at risk", "transition", "status", from_status="active",
               to_status="at_risk", cooldown_s=0)


NEW = State()


def run(rule: Rule, readings: list[tuple[int, Value]], state: State = NEW
        ) -> tuple[State, list[tuple[str, int]]]:
    """Feed (seconds after T0, value) readings; the changes as (kind, crossing)."""
    changes = []
    for seconds, value in readings:
        state, change = evaluate(rule, state, value, T0 + timedelta(seconds=seconds))
        if change is not None:
            changes.append((change.kind, change.crossing))
    return state, changes


def test_a_threshold_fires_once_and_resolves_below_the_hysteresis() -> None:
    _, changes = run(THRESHOLD, [(0, 40), (1, 60), (2, 80), (3, 55), (4, 49), (5, 30)])
    assert changes == [("firing", 1), ("resolved", 1)]


def test_a_cooldown_holds_a_second_firing_until_it_passes() -> None:
    state, changes = run(THRESHOLD, [(0, 70), (10, 20), (20, 70)])
    assert changes == [("firing", 1), ("resolved", 1)]       # the second is held
    assert not state.firing
    _, later = run(THRESHOLD, [(700, 70)], state)
    assert later == [("firing", 2)]


def test_a_rise_within_the_window_fires_and_an_old_low_does_not_count() -> None:
    _, changes = run(RISE, [(0, 10), (60, 25), (120, 45)])
    assert changes == [("firing", 1)]
    _, slow = run(RISE, [(0, 10), (700, 45)])                 # the low left the window
    assert slow == []


def test_a_status_transition_fires_only_from_the_given_status() -> None:
    _, changes = run(AT_RISK, [(0, "active"), (1, "at_risk"), (2, "dormant"),
                               (3, "at_risk"), (4, "active"), (5, "at_risk")])
    assert changes == [("firing", 1), ("resolved", 1), ("firing", 2)]
    _, first = run(AT_RISK, [(0, "at_risk")])                 # no earlier status: no transition
    assert first == []


readings = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 100)), max_size=30)
statuses = st.lists(st.tuples(st.integers(0, 5000),
                              st.sampled_from(["active", "at_risk", "dormant"])), max_size=30)


@given(st.sampled_from([THRESHOLD, RISE]), readings)
def test_reading_the_same_value_again_changes_nothing(rule: Rule,
                                                      seen: list[tuple[int, Value]]) -> None:
    assert_replay_changes_nothing(rule, sorted(seen, key=lambda r: r[0]))


@given(statuses)
def test_reading_the_same_status_again_changes_nothing(seen: list[tuple[int, Value]]) -> None:
    assert_replay_changes_nothing(AT_RISK, sorted(seen, key=lambda r: r[0]))


def assert_replay_changes_nothing(rule: Rule, seen: list[tuple[int, Value]]) -> None:
    state = State()
    firings = 0
    for seconds, value in seen:
        at = T0 + timedelta(seconds=seconds)
        state, change = evaluate(rule, state, value, at)
        again, repeat = evaluate(rule, state, value, at)
        assert repeat is None and again == state
        if change is not None and change.kind == "firing":
            firings += 1
            assert change.crossing == firings
    assert state.crossings == firings


def test_observed_history_fires_nothing_and_news_fires_what_still_holds() -> None:
    # History moves the last value on (a transition is measured from it) without firing;
    # a threshold still passed when news comes fires then, once.
    state = NEW
    for seconds, value in [(0, 40), (1, 75), (2, 90)]:
        state = observe(THRESHOLD, state, value, T0 + timedelta(seconds=seconds))
    assert not state.firing and state.value == 90 and state.crossings == 0
    _, changes = run(THRESHOLD, [(3, 85), (4, 80)], state)
    assert changes == [("firing", 1)]
    status = observe(AT_RISK, NEW, "active", T0)
    _, changes = run(AT_RISK, [(1, "at_risk")], status)
    assert changes == [("firing", 1)]
    firing, _ = run(THRESHOLD, [(0, 70)])
    quiet = observe(THRESHOLD, firing, 20, T0 + timedelta(seconds=1))
    assert quiet.firing and quiet.value == 20      # resolved only when news says so
    _, changes = run(THRESHOLD, [(2, 20)], quiet)
    assert changes == [("resolved", 1)]
