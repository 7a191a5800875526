"""What one session adds to the paths and page-time aggregates, as a pure function of its views.

The paths tab needs, per window, each session's entry page (its first view in
the window), exit page (its last), consecutive-view transitions and length.
Sums of per-day sorted sets give that for any window start S:

- ``exit:D``: sessions whose last view is on day D (counts for every S <= D);
- ``entry:D`` / ``len:D``: sessions whose first view is on day D, with their
  first page / total length (valid for every S <= D);
- ``entryc:S`` / ``lenc:S``: sessions that began before S and go on at or
  after it: their first page / length from S on (only for windows starting at S);
- ``tr:D``: transitions whose first view is on day D (``from\\tto``);
- ``pvs:D``: views with a session, per path (drop-off's denominator).

Page time and scroll averages of the pages tab come from the same views:
``tm``/``tmn`` and ``sc``/``scn`` (sum and count per path), ``stm``/``stn`` (time
per section). A view's leave may arrive late, so each session (or view without
a session) is kept as a snapshot and the projection applies the difference between
the contributions of the old and the new snapshot, never a blind increment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

import msgspec

from insights.readmodel.keys import WINDOW_SPANS
from scoring.paths import length_bucket

LONGEST_WINDOW = max(WINDOW_SPANS.values())

Contribution = tuple[str, int, str]
"""(sorted-set kind, day number, member)."""
# ``entryc``/``lenc`` are read per window start day; the other kinds are also kept
# summed per period window (``insights.readmodel.keys.WINDOWED_KINDS``).


class PageVisit(NamedTuple):
    """A page view as the paths and page-time aggregates need it, in session order
    (time, then event id)."""

    day: int
    path: str
    seconds: int | None
    scroll: int | None


def encode(views: Sequence[PageVisit]) -> str:
    return msgspec.json.encode(views).decode() if views else ""


def decode(snapshot: str | None) -> list[PageVisit]:
    if not snapshot:
        return []
    return [PageVisit(*v) for v in msgspec.json.decode(snapshot)]


def contributions(views: Sequence[PageVisit], sections: Callable[[str], Sequence[str]], *,
                  in_session: bool) -> Counter[Contribution]:
    """Everything ``views`` add to the day aggregates (see the module docstring)."""
    found: Counter[Contribution] = Counter()
    add_contributions(found, views, sections, in_session=in_session)
    return found


def add_contributions(found: dict[Contribution, int], views: Sequence[PageVisit],
                      sections: Callable[[str], Sequence[str]], *, in_session: bool,
                      sign: int = 1) -> None:
    """Add what ``views`` contribute into ``found`` (``sign`` -1: take it away), as
    ``contributions``; a batch sums many sessions' changes this way."""
    for v in views:
        _page_time(found, v, sections, sign)
    if in_session and views:
        _paths(found, views, sign)


def _bump(found: dict[Contribution, int], key: Contribution, amount: int) -> None:
    found[key] = found.get(key, 0) + amount


def _page_time(found: dict[Contribution, int], v: PageVisit,
               sections: Callable[[str], Sequence[str]], sign: int) -> None:
    if v.seconds is not None:
        seconds = v.seconds * sign
        _bump(found, ("tm", v.day, v.path), seconds)
        _bump(found, ("tmn", v.day, v.path), sign)
        for section in sections(v.path):
            _bump(found, ("stm", v.day, section), seconds)
            _bump(found, ("stn", v.day, section), sign)
    if v.scroll is not None:
        _bump(found, ("sc", v.day, v.path), v.scroll * sign)
        _bump(found, ("scn", v.day, v.path), sign)


def _paths(found: dict[Contribution, int], views: Sequence[PageVisit], sign: int) -> None:
    first, last = views[0], views[-1]
    _bump(found, ("exit", last.day, last.path), sign)
    _bump(found, ("entry", first.day, first.path), sign)
    _bump(found, ("len", first.day, length_bucket(len(views))), sign)
    for i, v in enumerate(views):
        _bump(found, ("pvs", v.day, v.path), sign)
        if i and v.day != views[i - 1].day:
            # The session goes on across midnight: windows starting on a day in
            # (previous view's day, this day] see it begin here. Only starts up to the
            # longest window (+1 for a ts a little ahead of midnight) before this view
            # are ever read: one view from 1970 must not write 20,000 days of keys.
            earliest = max(views[i - 1].day + 1, v.day - LONGEST_WINDOW - 1)
            for start in range(earliest, v.day + 1):
                _bump(found, ("entryc", start, v.path), sign)
                _bump(found, ("lenc", start, length_bucket(len(views) - i)), sign)
        if i + 1 < len(views) and views[i + 1].path != v.path:
            _bump(found, ("tr", v.day, f"{v.path}\t{views[i + 1].path}"), sign)


def difference(old: Counter[Contribution], new: Counter[Contribution]
               ) -> list[tuple[Contribution, int]]:
    """The increments turning ``old`` into ``new`` (zero changes left out)."""
    changes = []
    for key in old.keys() | new.keys():
        delta = new.get(key, 0) - old.get(key, 0)
        if delta:
            changes.append((key, delta))
    return changes
