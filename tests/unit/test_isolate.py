"""A failing record is isolated by halving the batch; everything else is applied, in order."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.batch import Item, Rejected, unprocessable
from consumers.protocol import SinkUnavailable, WriteResult, isolate
from insights.events.kafka import Record


def items(count: int) -> list[Item]:
    return [Rejected(Record("t", n % 3, n, None, b"{}", 0), "test", "") for n in range(count)]


class Store:
    """Applies batches unless they hold a poisoned offset (as a sink would raise)."""

    def __init__(self, poisoned: set[int]) -> None:
        self.poisoned = poisoned
        self.applied: list[int] = []

    def apply(self, batch: Sequence[Item]) -> WriteResult:
        bad = [i.record.offset for i in batch if i.record.offset in self.poisoned]
        if bad:
            raise ValueError(f"cannot take offset {bad[0]}")
        self.applied += [i.record.offset for i in batch]
        return WriteResult(rejected=list(batch))   # type: ignore[arg-type]

    def reject(self, item: Item, exc: Exception) -> WriteResult:
        return WriteResult(rejected=[unprocessable(item.record, exc)])


@given(count=st.integers(1, 300), data=st.data())
def test_only_the_failing_records_are_rejected_and_the_rest_apply_in_order(
        count: int, data: st.DataObject) -> None:
    poisoned = set(data.draw(st.lists(st.integers(0, count - 1), max_size=5)))
    store = Store(poisoned)
    result = isolate(items(count), store.apply, store.reject)
    assert store.applied == [n for n in range(count) if n not in poisoned]
    refused = [r for r in result.rejected if r.reason == "unprocessable"]
    assert sorted(r.record.offset for r in refused) == sorted(poisoned)
    assert all(r.detail.startswith("ValueError: cannot take offset") for r in refused)


def test_an_outage_retries_the_whole_batch_instead() -> None:
    def down(_: Sequence[Item]) -> WriteResult:
        raise SinkUnavailable("connection refused")

    with pytest.raises(SinkUnavailable):
        isolate(items(10), down, Store(set()).reject)


def test_unprocessable_detail_names_the_exception_briefly() -> None:
    record = Record("t", 0, 5, None, b"", 0)
    rejected = unprocessable(record, RecursionError("too\n deep " + "x" * 1000), "where: ")
    assert rejected.reason == "unprocessable"
    assert rejected.detail.startswith("where: RecursionError: too deep x")
    assert len(rejected.detail) < 600
    assert unprocessable(record, KeyError()).detail == "KeyError"
