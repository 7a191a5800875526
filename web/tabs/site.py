"""The overview and pages tabs: sums of the site-wide day aggregates over a window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple, cast

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
from web.documents.site import (
    ChartData,
    DeviceWeeks,
    HeatmapHour,
    HeatmapRow,
    IgnoredPage,
    LoggedVsAnon,
    OverviewTab,
    PagesTab,
    Section,
    TopPage,
)
from web.formats import day as day_label
from web.reader import SessionFilter
from web.tabs.store import Store, window_days

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
TOP_PAGES, IGNORED_MAX, IGNORED_BELOW = 50, 30, 5
# Day sorted sets the pages tab sums over its window: views first, then the sums and
# counts behind its averages, and the sections' time.
_PAGE_SETS = ("pv", "ld", "ldn", "tm", "tmn", "sc", "scn", "stm", "stn")


class Sessions(NamedTuple):
    """Sessions started in a day: all of them, with a user, without one."""

    all: int
    logged: int
    anonymous: int

    def filtered(self, filter_: str) -> int:
        """The count the overview's ``filter`` (``all``, ``logged``, ``anonymous``) asks for."""
        return {"all": self.all, "logged": self.logged, "anonymous": self.anonymous}[filter_]


class Devices(NamedTuple):
    """Sessions per device type."""

    desktop: int
    mobile: int
    tablet: int


DEVICES = Devices._fields
# The day hash fields the overview reads, in the order they are fetched: one layout,
# sliced by name in ``chart_day`` and ``month_day``.
_SESSION_FIELDS = ("ss", "sl", "sa")
_HOUR_FIELDS = tuple(f"hr:{h}" for h in range(24))
_DEVICE_FIELDS = tuple(f"dv:{d}" for d in DEVICES)
CHART_FIELDS = (*_SESSION_FIELDS, "pv")
MONTH_FIELDS = (*_SESSION_FIELDS, *_HOUR_FIELDS, *_DEVICE_FIELDS)


class ChartDay(NamedTuple):
    """A day of the overview's chart (``CHART_FIELDS``)."""

    sessions: Sessions
    pageviews: int


class MonthDay(NamedTuple):
    """A day of the overview's month window (``MONTH_FIELDS``)."""

    sessions: Sessions
    hours: tuple[int, ...]          # sessions started in each UTC hour, hour 0 first
    devices: Devices


def chart_day(values: Sequence[int]) -> ChartDay:
    """The values of ``CHART_FIELDS`` by name."""
    n = len(_SESSION_FIELDS)
    (pageviews,) = values[n:]
    return ChartDay(Sessions(*values[:n]), pageviews)


def month_day(values: Sequence[int]) -> MonthDay:
    """The values of ``MONTH_FIELDS`` by name."""
    hours = len(_SESSION_FIELDS)
    devices = hours + len(_HOUR_FIELDS)
    return MonthDay(Sessions(*values[:hours]), tuple(values[hours:devices]),
                    Devices(*values[devices:]))


def overview(store: Store, filter_: SessionFilter, now: datetime) -> OverviewTab:
    """The overview tab: the chart's 31 days, and the month window's hours and devices."""
    today = now.date()
    chart = [day_number(d) for d in last_days(today, 31)]
    days = [chart_day(v) for v in store.day_fields(chart, CHART_FIELDS)]
    month = window_days(month_start(today), today)
    per_day = {d: month_day(v)
               for d, v in zip(month, store.day_fields(month, MONTH_FIELDS), strict=True)}
    return OverviewTab(
        filter_type=filter_,
        chart_data=ChartData(labels=[day_label(from_day_number(d)) for d in chart],
                             sessions=[d.sessions.filtered(filter_) for d in days],
                             pageviews=[d.pageviews for d in days]),
        heatmap=_heatmap(per_day),
        logged_vs_anon=LoggedVsAnon(logged=sum(d.sessions.logged for d in per_day.values()),
                                    anonymous=sum(d.sessions.anonymous
                                                  for d in per_day.values())),
        devices=_devices(per_day),
    )


def _heatmap(per_day: dict[int, MonthDay]) -> list[HeatmapRow]:
    grid = [[0] * 24 for _ in WEEKDAYS]
    for day, counts in per_day.items():
        row = (from_day_number(day).weekday() + 1) % 7      # Monday 0 -> Sunday 0
        for hour, n in enumerate(counts.hours):
            grid[row][hour] += n
    top = max(1, *(max(r) for r in grid))
    return [HeatmapRow(name=name, hours=[HeatmapHour(count=n, intensity=bar_pct(n, top))
                                         for n in row])
            for name, row in zip(WEEKDAYS, grid, strict=True)]


def _devices(per_day: dict[int, MonthDay]) -> DeviceWeeks:
    weeks: dict[str, Devices] = {}
    for day, counts in sorted(per_day.items()):
        if counts.sessions.all:
            week = day_label(iso_week_start(from_day_number(day)))
            before = weeks.get(week, Devices(0, 0, 0))
            weeks[week] = Devices(*(a + b for a, b in zip(before, counts.devices, strict=True)))
    labels = sorted(weeks)
    return DeviceWeeks(labels=labels, desktop=[weeks[w].desktop for w in labels],
                       mobile=[weeks[w].mobile for w in labels],
                       tablet=[weeks[w].tablet for w in labels])


def pages(store: Store, sections: SectionMap, period: Period, now: datetime) -> PagesTab:
    """The pages tab: sections and the most (and least) viewed paths."""
    today = now.date()
    with store.windows(_PAGE_SETS, period, today) as summed, \
            store.windows(["pv"], "month", today) as month:
        return PagesTab(sections=_sections(store, sections, summed, period, today),
                        top_pages=_top_pages(store, summed, period, today),
                        ignored_pages=_ignored(store, month["pv"]))


def _sections(store: Store, sections: SectionMap, summed: dict[str, str], period: Period,
              today: date) -> list[Section]:
    names = list(sections)
    days = window_days(period_start(period, today), today)
    views = [sum(col) for col in zip(*store.day_fields(days, [f"sv:{n}" for n in names]),
                                     strict=True)]
    seconds = dict(zip(names, _scores(store, summed["stm"], names), strict=True))
    timed = dict(zip(names, _scores(store, summed["stn"], names), strict=True))
    uniques = store.uniques([f"s:{name}" for name in names], period, today)
    top = max([1, *views])
    return [Section(name=name, views=views[i], unique_users=uniques[i],
                    avg_time=truncated_mean(int(seconds[name]), int(timed[name])),
                    intensity=capped_pct(views[i], top))
            for i, name in enumerate(names)]


def _scores(store: Store, key: str, members: Sequence[str]) -> list[float]:
    return [score or 0.0 for score in store.redis.zmscore(key, list(members))]


def _top_pages(store: Store, summed: dict[str, str], period: Period, today: date
               ) -> list[TopPage]:
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

    return [TopPage(path=p, views=int(n), unique_users=uniques[i], avg_time=mean("tm", i),
                    avg_scroll=mean("sc", i), avg_load=mean("ld", i), bar_pct=bar_pct(n, most))
            for i, (p, n) in enumerate(top)]


def _ignored(store: Store, summed_month: str) -> list[IgnoredPage]:
    few = cast(list[tuple[str, float]], store.redis.zrangebyscore(
        summed_month, "-inf", f"({IGNORED_BELOW}", start=0, num=IGNORED_MAX, withscores=True))
    return [IgnoredPage(path=p, views=int(n)) for p, n in few]
