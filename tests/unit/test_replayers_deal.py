"""How a rebuild's partitions are dealt to its replayer processes (``consumers.replayers``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consumers.replayers import deal

partitions = st.dictionaries(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 15)),
                             st.integers(0, 10_000), max_size=48)


@given(partitions, st.integers(1, 8))
def test_every_partition_goes_to_exactly_one_share_with_its_mark(
        pending: dict[tuple[str, int], int], workers: int) -> None:
    marks = {part: n * 2 for part, n in pending.items()}
    shares = deal(pending, marks, workers)
    assert len(shares) <= workers
    assert all(shares)                              # no empty share
    dealt = [part for share in shares for part in share]
    assert sorted(dealt) == sorted(marks)
    assert {part: mark for share in shares for part, mark in share.items()} == marks


@given(partitions, st.integers(1, 8))
def test_no_share_outweighs_another_by_more_than_its_heaviest_partition(
        pending: dict[tuple[str, int], int], workers: int) -> None:
    shares = deal(pending, dict.fromkeys(pending, 0), workers)
    loads = [sum(pending[part] for part in share) for share in shares]
    if len(loads) > 1:
        assert max(loads) - min(loads) <= max(pending.values())


def test_two_workers_split_eight_equal_partitions_four_and_four() -> None:
    pending = {("t", p): 100 for p in range(8)}
    assert sorted(len(share) for share in deal(pending, dict.fromkeys(pending, 5), 2)) == [4, 4]


def test_one_worker_takes_everything_and_no_partitions_make_no_shares() -> None:
    pending = {("t", 0): 3, ("t", 1): 0}
    assert deal(pending, dict.fromkeys(pending, 1), 1) == [dict.fromkeys(pending, 1)]
    assert deal({}, {}, 4) == []
