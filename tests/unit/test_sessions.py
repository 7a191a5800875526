"""Session contributions: summed over any window, they give what the reference's SQL gives."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from consumers.journeys import (
    LONGEST_WINDOW,
    PageVisit,
    contributions,
    decode,
    difference,
    encode,
)
from scoring.pages import DEFAULT_SECTIONS, sections_of
from scoring.paths import length_bucket

PATHS = ("/", "/forum", "/forum/1", "/company/acme", "/about")


def _sections(path: str) -> list[str]:
    return sections_of(path, DEFAULT_SECTIONS)


views_st = st.lists(
    st.tuples(st.integers(0, 6), st.sampled_from(PATHS), st.none() | st.integers(0, 600),
              st.none() | st.integers(0, 100)),
    min_size=1, max_size=12,
).map(lambda vs: [PageVisit(*v) for v in sorted(vs, key=lambda v: v[0])])


def _window(found: Counter[tuple[str, int, str]], kind: str, start: int) -> Counter[str]:
    """What the reader sums for a window starting on day ``start``."""
    total: Counter[str] = Counter()
    for (k, day, member), n in found.items():
        if (k == kind and day >= start) or (k == kind + "c" and day == start):
            total[member] += n
    return +total


@given(views_st, st.integers(0, 7))
def test_any_window_sees_the_session_as_the_sql_does(views: list[PageVisit], start: int) -> None:
    found = contributions(views, _sections, in_session=True)
    inside = [v for v in views if v.day >= start]
    want_entry = Counter([inside[0].path]) if inside else Counter()
    want_exit = Counter([inside[-1].path]) if inside else Counter()
    want_length = Counter([length_bucket(len(inside))]) if inside else Counter()
    want_pairs = Counter(f"{a.path}\t{b.path}" for a, b in pairwise(inside)
                         if a.path != b.path)
    assert _window(found, "entry", start) == want_entry
    assert _window(found, "exit", start) == want_exit
    assert _window(found, "len", start) == want_length
    assert _window(found, "tr", start) == want_pairs
    assert _window(found, "pvs", start) == Counter(v.path for v in inside)


@given(views_st)
def test_page_times_count_known_values_only(views: list[PageVisit]) -> None:
    found = contributions(views, _sections, in_session=False)
    timed = [v for v in views if v.seconds is not None]
    assert sum(n for (k, _, _), n in found.items() if k == "tmn") == len(timed)
    assert sum(n for (k, _, _), n in found.items() if k == "tm") == sum(
        v.seconds or 0 for v in timed)
    assert not any(k in {"entry", "exit", "pvs"} for k, _, _ in found)   # no session, no paths


@given(views_st, views_st)
def test_applying_the_difference_turns_old_into_new(old: list[PageVisit],
                                                   new: list[PageVisit]) -> None:
    before = contributions(old, _sections, in_session=True)
    after = contributions(new, _sections, in_session=True)
    applied = Counter(before)
    for key, delta in difference(before, after):
        applied[key] += delta
    assert +applied == +after


def test_a_late_leave_moves_time_into_the_averages() -> None:
    before = contributions([PageVisit(3, "/forum", None, None)], _sections, in_session=True)
    after = contributions([PageVisit(3, "/forum", 40, 75)], _sections, in_session=True)
    assert dict(difference(before, after)) == {
        ("tm", 3, "/forum"): 40, ("tmn", 3, "/forum"): 1, ("sc", 3, "/forum"): 75,
        ("scn", 3, "/forum"): 1, ("stm", 3, "Forum"): 40, ("stn", 3, "Forum"): 1}


def test_the_last_page_of_a_growing_session_moves_its_exit() -> None:
    one = contributions([PageVisit(3, "/", None, None)], _sections, in_session=True)
    two = contributions([PageVisit(3, "/", None, None), PageVisit(3, "/forum", None, None)],
                        _sections, in_session=True)
    changes = dict(difference(one, two))
    assert changes[("exit", 3, "/")] == -1 and changes[("exit", 3, "/forum")] == 1
    assert changes[("len", 3, "1 page")] == -1 and changes[("len", 3, "2 pages")] == 1


def test_snapshots_round_trip() -> None:
    views = [PageVisit(1, "/a", None, 5), PageVisit(2, "/b\tc", 7, None)]
    assert decode(encode(views)) == views
    assert decode(encode([])) == [] and decode(None) == []


def test_a_view_from_long_ago_writes_only_the_window_starts_ever_read() -> None:
    """A session with one view dated 1970 and one today: the start-day sets are written
    for the days a window can start on (the longest window and a day), not for every day
    in between (the fuzz test found one message writing 41,577 keys)."""
    today = 20_000
    views = [PageVisit(0, "/old", None, None), PageVisit(today, "/new", None, None)]
    found = contributions(views, lambda _: (), in_session=True)
    starts = sorted(day for kind, day, _ in found if kind == "entryc")
    assert starts == list(range(today - LONGEST_WINDOW - 1, today + 1))
