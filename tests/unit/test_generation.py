"""The judgement of a read model's keys against the generation PostgreSQL vouches for."""

from __future__ import annotations

import pytest

from insights.readmodel.generation import Found, State, judge
from insights.readmodel.keys import LAYOUT

NOW, OLD = str(LAYOUT), str(LAYOUT - 1)


@pytest.mark.parametrize(("found", "state", "words"), [
    (Found("g1", "g1", NOW, True, True), State.READY, ""),
    (Found(None, None, None, False, False), State.FRESH, ""),
    (Found("g1", None, None, False, True), State.LOST, "generation is gone"),
    (Found("g1", "g0", NOW, True, True), State.LOST, "vouches for g1"),
    (Found("g1", "g1", OLD, True, True), State.LOST, f"layout {OLD}"),
    (Found(None, None, None, False, True), State.LOST, "no read model"),
    (Found(None, None, None, True, True), State.LOST, "layout 1"),    # offsets, no layout
    (Found(None, None, OLD, True, True), State.LOST, f"layout {OLD}"),  # before generations
    (Found(None, "g9", NOW, True, True), State.LOST, "vouches for none"),
])
def test_judge(found: Found, state: State, words: str) -> None:
    verdict = judge(found)
    assert verdict.state is state
    assert words in verdict.detail


def test_a_projection_behind_the_first_record_kafka_keeps_is_found() -> None:
    from consumers.offsets import behind_the_log

    projected = {("t", 0): 100, ("t", 1): 5, ("t", 2): 0}
    assert behind_the_log(projected, {("t", 0): 50, ("t", 1): 6, ("t", 2): 0}) == [("t", 1)]
    assert behind_the_log(projected, {}) == []                  # the broker did not say
    assert behind_the_log({}, {("t", 0): 10}) == []             # nothing stored: from PostgreSQL
