"""The overview and pages tabs: sums of the site-wide day aggregates over a window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from scoring.pages import SectionMap, truncated_mean
from scoring.ratios import bar_pct, capped_pct
from scoring.windows import (
    Period,
    day_number,
    from_day_number,
    iso_week_start,
    last_days,
    month_start,
    period_start,
)
from web.formats import day as day_label
from web.tabs.store import Store, window_days

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
DEVICES = ("desktop", "mobile", "tablet")
_HOURS = [f"hr:{h}" for h in range(24)]
_SESSIONS = {"all": 0, "logged": 1, "anonymous": 2}
TOP_PAGES, IGNORED_MAX, IGNORED_BELOW = 50, 30, 5
# Day sorted sets the pages tab sums over its window: views first, then the sums and
# counts behind its averages, and the sections' time.
_PAGE_SETS = ("pv", "ld", "ldn", "tm", "tmn", "sc", "scn", "stm", "stn")


def overview(store: Store, filter_: str, now: datetime) -> dict[str, Any]:
    today = now.date()
    chart = [day_number(d) for d in last_days(today, 31)]
    values = store.day_fields(chart, ("ss", "sl", "sa", "pv"))
    month = window_days(month_start(today), today)
    fields = ["ss", "sl", "sa", *_HOURS, *(f"dv:{d}" for d in DEVICES)]
    per_day = dict(zip(month, store.day_fields(month, fields), strict=True))
    return {
        "filter_type": filter_,
        "chart_data": {"labels": [day_label(from_day_number(d)) for d in chart],
                       "sessions": [v[_SESSIONS[filter_]] for v in values],
                       "pageviews": [v[3] for v in values]},
        "heatmap": _heatmap(per_day),
        "logged_vs_anon": {"logged": sum(v[1] for v in per_day.values()),
                           "anonymous": sum(v[2] for v in per_day.values())},
        "devices": _devices(per_day),
    }


def _heatmap(per_day: dict[int, list[int]]) -> list[dict[str, Any]]:
    grid = [[0] * 24 for _ in WEEKDAYS]
    for day, values in per_day.items():
        row = (from_day_number(day).weekday() + 1) % 7      # Monday 0 -> Sunday 0
        for hour in range(24):
            grid[row][hour] += values[3 + hour]
    top = max(1, *(max(r) for r in grid))
    return [{"name": name, "hours": [{"count": n, "intensity": bar_pct(n, top)} for n in row]}
            for name, row in zip(WEEKDAYS, grid, strict=True)]


def _devices(per_day: dict[int, list[int]]) -> dict[str, Any]:
    weeks: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, values in sorted(per_day.items()):
        if values[0]:
            week = weeks[day_label(iso_week_start(from_day_number(day)))]
            for i in range(3):
                week[i] += values[27 + i]
    labels = sorted(weeks)
    return {"labels": labels, **{d: [weeks[w][i] for w in labels] for i, d in enumerate(DEVICES)}}


def pages(store: Store, sections: SectionMap, period: Period, now: datetime) -> dict[str, Any]:
    today = now.date()
    with store.windows(_PAGE_SETS, period, today) as summed, \
            store.windows(["pv"], "month", today) as month:
        return {"sections": _sections(store, sections, summed, period, today),
                "top_pages": _top_pages(store, summed, period, today),
                "ignored_pages": _ignored(store, month["pv"])}


def _sections(store: Store, sections: SectionMap, summed: dict[str, str], period: Period,
              today: date) -> list[dict[str, Any]]:
    names = list(sections)
    days = window_days(period_start(period, today), today)
    views = [sum(col) for col in zip(*store.day_fields(days, [f"sv:{n}" for n in names]),
                                     strict=True)]
    seconds = dict(zip(names, _scores(store, summed["stm"], names), strict=True))
    timed = dict(zip(names, _scores(store, summed["stn"], names), strict=True))
    uniques = store.uniques([f"s:{name}" for name in names], period, today)
    found = [{"name": name, "views": views[i], "unique_users": uniques[i],
              "avg_time": truncated_mean(int(seconds[name]), int(timed[name]))}
             for i, name in enumerate(names)]
    top = max([1, *(s["views"] for s in found)])
    for s in found:
        s["intensity"] = capped_pct(s["views"], top)
    return found


def _scores(store: Store, key: str, members: Sequence[str]) -> list[float]:
    return [score or 0.0 for score in store.redis.zmscore(key, list(members))]


def _top_pages(store: Store, summed: dict[str, str], period: Period, today: date
               ) -> list[dict[str, Any]]:
    top = cast(list[tuple[str, float]],
               store.redis.zrevrange(summed["pv"], 0, TOP_PAGES - 1, withscores=True))
    paths = [p for p, _ in top]
    if not paths:
        return []
    pipe = store.redis.pipeline(transaction=False)
    for kind in _PAGE_SETS[1:]:
        pipe.zmscore(summed[kind], paths)
    sums = {kind: [s or 0.0 for s in reply]
            for kind, reply in zip(_PAGE_SETS[1:], pipe.execute(), strict=True)}
    uniques = store.uniques([f"p:{path}" for path in paths], period, today)
    most = top[0][1]

    def mean(kind: str, i: int) -> int:
        return truncated_mean(int(sums[kind][i]), int(sums[kind + "n"][i]))

    return [{"path": p, "views": int(n), "unique_users": uniques[i],
             "avg_time": mean("tm", i), "avg_scroll": mean("sc", i), "avg_load": mean("ld", i),
             "bar_pct": bar_pct(n, most)} for i, (p, n) in enumerate(top)]


def _ignored(store: Store, summed_month: str) -> list[dict[str, Any]]:
    few = cast(list[tuple[str, float]], store.redis.zrangebyscore(
        summed_month, "-inf", f"({IGNORED_BELOW}", start=0, num=IGNORED_MAX, withscores=True))
    return [{"path": p, "views": int(n)} for p, n in few]
