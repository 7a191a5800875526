"""The formats Lua and Python share are defined once, in Python, and generated into the Lua.

Window spans, the number of periods, the JS errors' metric position, the
ranked sets and the parts of a user's window sums: a change on the Python side
reaches the scripts, or fails here, instead of giving other numbers silently.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources

import pytest

from consumers.ranking import rank_values
from insights.readmodel.keys import WINDOW_SPANS, Keys
from insights.readmodel.redisdb import LUA_CONSTANTS, render, source
from insights.readmodel.userstate import (
    SESSION_ERRORS,
    SESSION_ERRORS_POSITION,
    USER_METRICS,
    Asked,
    UserRow,
    UserSums,
    score_asked,
    script_queries,
    user_queries,
)
from scoring.windows import PERIOD_DAYS, PERIODS, WINDOW_STARTS, period_start, previous_start

SCRIPTS = ("aggregate", "counters", "generation", "hll_roll", "maxset", "rank", "roll",
           "sessions", "window")
TODAY = date(2026, 12, 4)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_placeholder_is_filled(name: str) -> None:
    assert not re.search(r"@[A-Z_]+@", source(name))


def test_a_placeholder_without_a_value_is_an_error() -> None:
    with pytest.raises(KeyError):
        render("local X = @NOT_DEFINED@")


def test_window_lua_spans_are_the_python_window_starts() -> None:
    found = re.search(r"local SPANS = \{([^}]*)\}", source("window"))
    assert found is not None
    assert [int(n) for n in found.group(1).split(",")] == [WINDOW_STARTS[p] for p in PERIODS]
    assert dict(WINDOW_SPANS) == dict(WINDOW_STARTS)


def test_hll_roll_lua_has_one_window_per_period() -> None:
    assert re.search(rf"local PERIODS = {len(PERIODS)}\b", source("hll_roll"))


def test_no_script_file_writes_the_periods_itself() -> None:
    for name in SCRIPTS:
        text = resources.files("insights.readmodel").joinpath("lua", f"{name}.lua").read_text()
        assert not re.search(r"for p = 1, 3\b", text), name
        assert not re.search(r"\{\s*0,\s*7,\s*30\s*\}", text), name


def test_counters_lua_session_errors_position_is_what_python_sends() -> None:
    assert re.search(rf"local SESSION_ERRORS = {SESSION_ERRORS_POSITION}\b", source("counters"))
    sent = script_queries([(SESSION_ERRORS, 1, 2), (USER_METRICS[0], 1, 2)], USER_METRICS)
    assert sent == f"[[{SESSION_ERRORS_POSITION},1,2],[1,1,2]]"
    assert LUA_CONSTANTS["SESSION_ERRORS"] == str(SESSION_ERRORS_POSITION)


def test_the_period_lengths_derive_from_the_window_starts() -> None:
    assert dict(WINDOW_STARTS) == {"day": 0, "week": 7, "month": 30}
    assert dict(PERIOD_DAYS) == {"day": 1, "week": 7, "month": 30}
    for p in PERIODS:
        assert TODAY - period_start(p, TODAY) == timedelta(days=WINDOW_STARTS[p])
        assert period_start(p, TODAY) - previous_start(p, TODAY) == timedelta(
            days=PERIOD_DAYS[p])


def test_rank_lua_gets_one_set_per_ranked_value() -> None:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    row = UserRow(1, "a@example.com", "A", "MEMBER", True, now, now, 0, None, True)
    values = rank_values(row, UserSums.kept([0] * len(user_queries(TODAY))), [0, 0, 0], now)
    assert len(values) == len(Keys("p", "g").ranked_sets())
    assert "local sets, stamps, rolled = #KEYS - 2" in source("rank")


def test_sums_are_read_by_part_name() -> None:
    asked = score_asked(TODAY).plus("extra", [("pv", 1, 1), ("pv", 2, 2)])
    values = list(range(len(asked.queries)))
    found = asked.answer(values)
    assert found["extra"] == values[-2:]
    sums = UserSums.read(found)
    assert sums == UserSums.parse(values[:-2])
    assert sums.js_errors == {"day": 1, "week": 2, "month": 3}
    assert sums.engagement.sessions == 7 and sums.engagement.searches == 12
    with pytest.raises(ValueError, match="sums for"):
        asked.answer(values[:-1])
    with pytest.raises(ValueError, match="named twice"):
        Asked([("a", []), ("a", [])])
