"""The producer's side of the contract: bad input is only ever ``InvalidEvent``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.events import contract
from insights.events.producer import InvalidEvent, encode

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def cyclic() -> dict[str, Any]:
    event: dict[str, Any] = {"type": "search"}
    event["self"] = event
    return event


@pytest.mark.parametrize(("event", "reason"), [
    ([1, 2], "not_object"),
    ("text", "not_object"),
    ({"type": "search", "x": object()}, "bad_json"),
    ({"type": "search", "x": "\ud800"}, "bad_json"),
    (cyclic(), "bad_json"),
])
def test_what_has_no_json_form_is_an_invalid_event(event: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        encode(event)
    assert caught.value.reason == reason and caught.value.detail


@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.datetimes(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=12)))
def test_emit_validation_raises_only_invalid_event(event: dict[str, Any]) -> None:
    try:
        raw = encode(event)
    except InvalidEvent as exc:
        assert exc.reason in contract.REASONS
        return
    verdict = contract.decode(raw, now=NOW)
    assert isinstance(verdict, contract.Invalid) or contract.event_type(verdict)
