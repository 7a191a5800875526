"""The overview and pages tabs: sums of the site-wide day aggregates over a window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
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
    days = window_days(period_start(period, today), today)
    return {"sections": _sections(store, sections, days),
            "top_pages": _top_pages(store, days),
            "ignored_pages": _ignored(store, window_days(month_start(today), today))}


def _sections(store: Store, sections: SectionMap, days: Sequence[int]) -> list[dict[str, Any]]:
    names = list(sections)
    views = [sum(col) for col in zip(*store.day_fields(days, [f"sv:{n}" for n in names]),
                                     strict=True)]
    seconds, timed = (_union(store, kind, days, names) for kind in ("stm", "stn"))
    pipe = store.redis.pipeline(transaction=False)
    for name in names:
        pipe.pfcount(*[store.keys.day_hll(f"s:{name}", d) for d in days])
    uniques = pipe.execute()
    found = [{"name": name, "views": views[i], "unique_users": int(uniques[i]),
              "avg_time": truncated_mean(int(seconds[name]), int(timed[name]))}
             for i, name in enumerate(names)]
    top = max([1, *(s["views"] for s in found)])
    for s in found:
        s["intensity"] = capped_pct(s["views"], top)
    return found


def _union(store: Store, name: str, days: Sequence[int], paths: Sequence[str] | None = None
           ) -> dict[str, float]:
    """Per path, the sum over ``days`` of a day sorted set (only ``paths`` if given)."""
    keys = [store.keys.day_set(name, d) for d in days]
    if paths is None:
        pairs = cast(list[tuple[str, float]], store.redis.zunion(keys, withscores=True))
        return dict(pairs)
    pipe = store.redis.pipeline(transaction=False)
    for key in keys:
        pipe.zmscore(key, list(paths))
    sums: dict[str, float] = dict.fromkeys(paths, 0.0)
    for scores in pipe.execute():
        for path, score in zip(paths, scores, strict=True):
            sums[path] += score or 0
    return sums


def _top_pages(store: Store, days: Sequence[int]) -> list[dict[str, Any]]:
    views = _union(store, "pv", days)
    top = sorted(views.items(), key=lambda kv: kv[1], reverse=True)[:TOP_PAGES]
    paths = [p for p, _ in top]
    if not paths:
        return []
    extra = {name: _union(store, name, days, paths)
             for name in ("ld", "ldn", "tm", "tmn", "sc", "scn")}
    pipe = store.redis.pipeline(transaction=False)
    for path in paths:
        pipe.pfcount(*[store.keys.day_hll(f"p:{path}", d) for d in days])
    uniques = pipe.execute()
    most = top[0][1]
    return [{"path": p, "views": int(n), "unique_users": int(u),
             "avg_time": _mean(extra, "tm", p), "avg_scroll": _mean(extra, "sc", p),
             "avg_load": _mean(extra, "ld", p), "bar_pct": bar_pct(n, most)}
            for (p, n), u in zip(top, uniques, strict=True)]


def _mean(extra: dict[str, dict[str, float]], name: str, path: str) -> int:
    return truncated_mean(int(extra[name][path]), int(extra[name + "n"][path]))


def _ignored(store: Store, days: Sequence[int]) -> list[dict[str, Any]]:
    views = _union(store, "pv", days)
    few = sorted((n, p) for p, n in views.items() if n < IGNORED_BELOW)[:IGNORED_MAX]
    return [{"path": p, "views": int(n)} for n, p in few]
