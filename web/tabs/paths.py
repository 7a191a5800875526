"""The paths tab: entry and exit pages, transitions, drop-off and session lengths.

Sums of the per-day sorted sets the session snapshots keep
(``consumers.journeys``); ``entryc``/``lenc`` of the window's first day add the
sessions that began before the window and go on inside it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, cast

from scoring.paths import DROPOFF_MIN_VIEWS, LENGTH_BUCKETS, exit_rate
from scoring.ratios import bar_pct
from scoring.windows import Period, day_number, period_start
from web.documents.paths import Dropoff, PathsTab, RankedPath, SessionLength, Transition
from web.tabs.store import Store

ENTRIES, TRANSITIONS, DROPOFF = 10, 30, 20
WINDOWED = ("entry", "exit", "tr", "pvs", "len")     # the window sets the tab reads


def paths(store: Store, period: Period, now: datetime) -> PathsTab:
    """The paths tab over ``period``'s window."""
    today = now.date()
    keys, first = store.keys, day_number(period_start(period, today))
    with store.windows(WINDOWED, period, today) as window, store.unions(
            {"entry": [window["entry"], keys.day_set("entryc", first)]}) as summed:
        pipe = store.redis.pipeline(transaction=False)
        pipe.zrevrange(summed["entry"], 0, ENTRIES - 1, withscores=True)
        pipe.zrevrange(window["exit"], 0, ENTRIES - 1, withscores=True)
        pipe.zrevrange(window["tr"], 0, TRANSITIONS - 1, withscores=True)
        pipe.zrangebyscore(window["pvs"], DROPOFF_MIN_VIEWS, "+inf",
                           withscores=True)
        pipe.zrange(window["len"], 0, -1, withscores=True)
        pipe.zrange(keys.day_set("lenc", first), 0, -1, withscores=True)
        entries, exits, pairs, views, lengths, continuing = (_counts(r) for r in pipe.execute())
        dropoff = _dropoff(store, window["exit"], views)
    return PathsTab(
        entry_pages=_ranked(entries), exit_pages=_ranked(exits),
        transitions=[Transition(from_=pair.split("	", 1)[0], to=pair.split("	", 1)[1],
                                count=n) for pair, n in pairs.most_common(TRANSITIONS)],
        dropoff=dropoff,
        session_lengths=_lengths(lengths + continuing),
    )


def _counts(pairs: Any) -> Counter[str]:
    return +Counter({member: int(score) for member, score in cast(list[tuple[str, float]],
                                                                    pairs)})


def _ranked(counts: Counter[str]) -> list[RankedPath]:
    top = counts.most_common(ENTRIES)
    most = top[0][1] if top else 1
    return [RankedPath(path=p, count=n, bar_pct=bar_pct(n, most)) for p, n in top]


def _dropoff(store: Store, exit_key: str, views: Counter[str]) -> list[Dropoff]:
    paths = list(views)
    exits: Counter[str] = Counter()
    if paths:
        scores = store.redis.zmscore(exit_key, paths)
        exits.update({p: int(n or 0) for p, n in zip(paths, scores, strict=True)})
    rows = [Dropoff(path=p, views=n, exits=exits[p], exit_rate=exit_rate(exits[p], n))
            for p, n in views.items() if n >= DROPOFF_MIN_VIEWS]
    rows.sort(key=lambda r: r.exit_rate, reverse=True)
    return rows[:DROPOFF]


def _lengths(counts: Counter[str]) -> list[SessionLength]:
    present = [(b, counts[b]) for b in LENGTH_BUCKETS if counts.get(b)]
    most = max([1, *(n for _, n in present)])
    return [SessionLength(bucket=b, count=n, bar_pct=bar_pct(n, most)) for b, n in present]
