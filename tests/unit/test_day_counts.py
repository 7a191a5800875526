"""``consumers.daycounts.day_counts``: what applied events add to each user's day counters,
checked against the oracle's independent count of the same events (and by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.daycounts import day_counts
from harness.factories import event, stream
from insights.events import contract
from tests.oracle import expected_day_counts

NOW = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC)


def _decoded(events: list[dict[str, object]]) -> list[contract.Event]:
    found = []
    for e in events:
        verdict = contract.decode(msgspec.json.encode(e), now=NOW + timedelta(days=1))
        assert not isinstance(verdict, contract.Invalid), (e, verdict)
        found.append(verdict)
    return found


def test_each_kind_counts_in_its_column_on_its_utc_day() -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    view = lambda ts, **f: event("pageview", ts, pageview_id=f"pv{next(ids)}",  # noqa: E731
                                 session_id="s1", **f)
    ids = iter(range(100))
    events = [
        view(late, user_id=7, load_time_ms=3001),
        view(late, user_id=7, load_time_ms=3000),                      # not over 3000 ms
        view(late, user_id=7, load_time_ms=None),
        view(late + timedelta(hours=1), user_id=7, load_time_ms=9000),
        view(late, user_id=None, load_time_ms=9000),                   # nobody's
        event("conversion", late, user_id=7, session_id="s1"),
        event("search", late, user_id=8, session_id="s1"),
        event("password_reset", late, user_id=8),
        event("session_start", late, user_id=7, session_id="s1"),
        event("js_error", late, session_id="s1"),
    ]
    day = (late.date() - datetime(1970, 1, 1).date()).days
    assert day_counts(_decoded(events)) == {
        (7, day): [3, 1, 1, 0, 0], (7, day + 1): [1, 1, 0, 0, 0], (8, day): [0, 0, 0, 1, 1]}


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2000), st.integers(1, 30), st.integers(0, 10_000))
def test_a_stream_counts_as_the_oracle_counts_it(n: int, users: int, seed: int) -> None:
    events = list(stream(n, users=users, seed=seed, start=NOW - timedelta(days=3)))
    assert day_counts(_decoded(events)) == expected_day_counts(events)
