"""Site-wide day aggregates: the increments each event adds, as data (no I/O).

The projection sends a batch's increments, summed, to ``insights/readmodel/lua/aggregate.lua``
with the watermarks of the partitions they come from: the script applies them
only if no watermark moved since they were read (events at or below a partition's
watermark were applied before and are left out of the sums).
Day hash fields (``Keys.day``): ``ss`` sessions started, ``sl`` of them logged
in, ``sa`` anonymous, ``hr:H`` started in UTC hour H, ``dv:TYPE`` per device
type, ``pv`` page views, ``sv:SECTION`` views per section, ``je`` JS errors,
``al`` security alerts, ``fl`` alerts of type brute_force/account_locked, ``pr``
password resets. Day sorted sets: ``pv`` views per path, ``ld``/``ldn`` load
time sum/count per path. HyperLogLogs: ``users`` (users with a session),
``p:PATH`` and ``s:SECTION`` (users viewing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from insights.events import contract as c
from insights.readmodel.keys import WINDOW_SPANS, WINDOWED_KINDS, Keys
from scoring.pages import SectionMap, sections_of
from scoring.windows import day_number

Op = tuple[str, int, str, int, int, int]
"""(kind, key, member, amount, day, window): kind z = ZINCRBY (and into the window sets
at ``window`` when > 0), h = HINCRBY, p = PFADD (and into the window HLLs at ``window``),
n = SADD; keys are ``aggregate.lua`` KEYS indexes."""
Sum = tuple[str, int, str, int, int]
"""An op without its amount: (kind, key, member, day, window), what amounts are summed by."""
PERIODS = tuple(WINDOW_SPANS)
FIRST_KEY = 3   # KEYS[1] watermarks, KEYS[2] asof
FAILED_LOGIN_ALERTS = frozenset({"brute_force", "account_locked"})
_json = msgspec.json.Encoder().encode


@dataclass
class Increments:
    """The batch's ops, with the key names they refer to by index."""

    keys: Keys
    sections: SectionMap
    names: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)
    _sections_of: dict[str, list[str]] = field(default_factory=dict)
    _windows: dict[str, int] = field(default_factory=dict)
    _hll_windows: dict[str, int] = field(default_factory=dict)
    _day_sets: dict[tuple[str, int], int] = field(default_factory=dict)
    _days: dict[int, int] = field(default_factory=dict)
    _views: dict[tuple[int, str], ViewOps] = field(default_factory=dict)

    def day_hash(self, day: int) -> int:
        """KEYS index of the day's hash (cached: a batch has few days)."""
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self.key(self.keys.day(day))
        return found

    def sections_of(self, path: str) -> list[str]:
        """The path's sections (cached: a batch repeats the same paths)."""
        found = self._sections_of.get(path)
        if found is None:
            found = self._sections_of[path] = sections_of(path, self.sections)
        return found

    def key(self, name: str) -> int:
        """The KEYS index of ``name`` in ``aggregate.lua``."""
        found = self._index.get(name)
        if found is None:
            found = self._index[name] = len(self.names) + FIRST_KEY
            self.names.append(name)
        return found

    def window(self, kind: str) -> int:
        """KEYS index of the first of ``kind``'s day, week and month window sets."""
        found = self._windows.get(kind)
        if found is None:
            found = self.key(self.keys.window(kind, PERIODS[0]))
            for period in PERIODS[1:]:
                self.key(self.keys.window(kind, period))
            self._windows[kind] = found
        return found

    def unique(self, name: str, day: int) -> Unique:
        """Where a member of the day HLL ``name`` goes: that HLL, the window HLLs holding
        the day, and the set of names the midnight merge walks."""
        window = self._hll_windows.get(name)
        if window is None:
            window = self._hll_windows[name] = self.key(self.keys.window_hll(name, PERIODS[0]))
            for period in PERIODS[1:]:
                self.key(self.keys.window_hll(name, period))
        return Unique(self.key(self.keys.day_hll(name, day)), day, window,
                      ("n", self.key(self.keys.hll_names), name, 0, 0))

    def sorted_add(self, kind: str, day: int, member: str) -> Sum:
        """The op of a day sorted set increment, also applied to the windows holding the
        day."""
        key = self._day_sets.get((kind, day))
        if key is None:
            key = self._day_sets[kind, day] = self.key(self.keys.day_set(kind, day))
        window = self.window(kind) if kind in WINDOWED_KINDS else 0
        return ("z", key, member, day, window)

    def add(self, event: c.Event, sums: dict[Sum, int]) -> None:
        """Add what one accepted event adds to the day aggregates into ``sums`` (amounts
        per op; HLL and set ops carry 0)."""
        day = day_number(event.ts.date())
        if isinstance(event, c.PageView):
            self._view(event, day, sums)
        elif isinstance(event, c.SessionStart):
            self._session(event, day, sums)
        elif isinstance(event, c.JsError):
            _bump(sums, ("h", self.day_hash(day), "je", 0, 0), 1)
        elif isinstance(event, c.PasswordReset):
            _bump(sums, ("h", self.day_hash(day), "pr", 0, 0), 1)
        elif isinstance(event, c.SecurityAlert):
            hash_ = self.day_hash(day)
            _bump(sums, ("h", hash_, "al", 0, 0), 1)
            if event.alert_type in FAILED_LOGIN_ALERTS:
                _bump(sums, ("h", hash_, "fl", 0, 0), 1)

    def ops(self, event: c.Event) -> list[Op]:
        """What one accepted event adds to the day aggregates, op by op."""
        sums: dict[Sum, int] = {}
        self.add(event, sums)
        return [(kind, key, member, amount, day, window)
                for (kind, key, member, day, window), amount in sums.items()]

    def _session(self, e: c.SessionStart, day: int, sums: dict[Sum, int]) -> None:
        hash_ = self.day_hash(day)
        _bump(sums, ("h", hash_, "ss", 0, 0), 1)
        _bump(sums, ("h", hash_, "sa" if e.user_id is None else "sl", 0, 0), 1)
        _bump(sums, ("h", hash_, f"hr:{e.ts.hour}", 0, 0), 1)
        if e.device_type is not None:
            _bump(sums, ("h", hash_, f"dv:{e.device_type}", 0, 0), 1)
        if e.user_id is not None:
            self.unique("users", day).add(str(e.user_id), sums)

    def _view(self, e: c.PageView, day: int, sums: dict[Sum, int]) -> None:
        ops = self._views.get((day, e.path))
        if ops is None:
            ops = self._views[day, e.path] = self._view_ops(day, e.path)
        for op in ops.counted:
            _bump(sums, op, 1)
        if e.load_time_ms is not None:
            _bump(sums, ops.load, e.load_time_ms)
            _bump(sums, ops.loads, 1)
        if e.user_id is not None:
            user = str(e.user_id)
            for unique in ops.unique:
                unique.add(user, sums)

    def _view_ops(self, day: int, path: str) -> ViewOps:
        """The ops of a view of ``path`` on ``day`` but the user's (one batch repeats the
        same pages and days)."""
        hash_ = self.day_hash(day)
        sections = self.sections_of(path)
        return ViewOps(
            counted=[("h", hash_, "pv", 0, 0), self.sorted_add("pv", day, path),
                     *(("h", hash_, f"sv:{section}", 0, 0) for section in sections)],
            load=self.sorted_add("ld", day, path), loads=self.sorted_add("ldn", day, path),
            unique=[self.unique(f"p:{path}", day),
                    *(self.unique(f"s:{section}", day) for section in sections)])


@dataclass(frozen=True)
class ViewOps:
    """A view's ops on one day and path: ``counted`` (+1 each), the load time sum and
    count, and the HLLs the viewing user goes into (with the names' set)."""

    counted: list[Sum]
    load: Sum
    loads: Sum
    unique: list[Unique]


@dataclass(frozen=True)
class Unique:
    """A day HyperLogLog's KEYS index, its day, the index of its window HLLs, and the op
    naming it in the set of names."""

    key: int
    day: int
    window: int
    named: Sum

    def add(self, member: str, sums: dict[Sum, int]) -> None:
        """``member`` into the HLLs, the name into the set (both carry no amount)."""
        _bump(sums, ("p", self.key, member, self.day, self.window), 0)
        _bump(sums, self.named, 0)


def _bump(sums: dict[Sum, int], op: Sum, amount: int) -> None:
    sums[op] = sums.get(op, 0) + amount


def merged(inc: Increments, events: Iterable[c.Event]) -> str:
    """ARGV[4] of ``aggregate.lua``: the ops of ``events`` summed per (kind, key, member,
    day, window), flat; a batch repeats the same pages and days, so this is a fraction of
    the ops one by one (the script blocks the server while it runs)."""
    sums: dict[Sum, int] = {}
    add = inc.add
    for event in events:
        add(event, sums)
    flat: list[str | int] = []
    for (kind, key, member, day, window), amount in sums.items():
        if amount or kind in "pn":
            flat += [kind, key, member, amount, day, window]
    return _json(flat).decode()
