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

Sum = tuple[str, int, str, int, int]
"""An op without its amount, what amounts are summed by: (kind, key, member, day, window);
kind z = ZINCRBY (and into the window sets at ``window`` when > 0), h = HINCRBY, p = PFADD
(and into the window HLLs at ``window``), n = SADD; keys are ``aggregate.lua`` KEYS
indexes."""
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
            load = event.load_time_ms
            self.views(sums, day, event.path, n=1, load_ms=load or 0,
                       loads=0 if load is None else 1,
                       users=() if event.user_id is None else (str(event.user_id),))
        elif isinstance(event, c.SessionStart):
            self.sessions(sums, day, hour=event.ts.hour, device=event.device_type,
                          logged_in=event.user_id is not None, n=1)
            if event.user_id is not None:
                self.users(sums, day, (str(event.user_id),))
        elif isinstance(event, c.JsError):
            self.counted(sums, day, "je", 1)
        elif isinstance(event, c.PasswordReset):
            self.counted(sums, day, "pr", 1)
        elif isinstance(event, c.SecurityAlert):
            self.alerts(sums, day, event.alert_type, 1)

    # What ``n`` alike events add into ``sums``: ``add`` passes one event, a rebuild the
    # groups PostgreSQL summed (``consumers.stored``), so both go by the same formulas.

    def counted(self, sums: dict[Sum, int], day: int, field: str, n: int) -> None:
        """``n`` more in the day hash's ``field`` (``je`` JS errors, ``pr`` password resets)."""
        _bump(sums, ("h", self.day_hash(day), field, 0, 0), n)

    def alerts(self, sums: dict[Sum, int], day: int, alert_type: str, n: int) -> None:
        """``n`` security alerts of ``alert_type`` on ``day``."""
        hash_ = self.day_hash(day)
        _bump(sums, ("h", hash_, "al", 0, 0), n)
        if alert_type in FAILED_LOGIN_ALERTS:
            _bump(sums, ("h", hash_, "fl", 0, 0), n)

    def sessions(self, sums: dict[Sum, int], day: int, *, hour: int, device: str | None,
                 logged_in: bool, n: int) -> None:
        """``n`` sessions started on ``day`` in UTC hour ``hour`` on ``device``, logged in
        or not (their users go in by ``users``)."""
        hash_ = self.day_hash(day)
        _bump(sums, ("h", hash_, "ss", 0, 0), n)
        _bump(sums, ("h", hash_, "sl" if logged_in else "sa", 0, 0), n)
        _bump(sums, ("h", hash_, f"hr:{hour}", 0, 0), n)
        if device is not None:
            _bump(sums, ("h", hash_, f"dv:{device}", 0, 0), n)

    def users(self, sums: dict[Sum, int], day: int, users: Iterable[str]) -> None:
        """Users (ids as text) with a session on ``day``, into its HyperLogLogs."""
        unique = self.unique("users", day)
        for user in users:
            unique.add(user, sums)

    def views(self, sums: dict[Sum, int], day: int, path: str, *, n: int, load_ms: int,
              loads: int, users: Iterable[str]) -> None:
        """``n`` views of ``path`` on ``day``, ``loads`` of them with a load time (summing
        to ``load_ms`` milliseconds), by ``users`` (ids as text; views without a user add
        none)."""
        ops = self._views.get((day, path))
        if ops is None:
            ops = self._views[day, path] = self._view_ops(day, path)
        for op in ops.counted:
            _bump(sums, op, n)
        if loads:
            _bump(sums, ops.load, load_ms)
            _bump(sums, ops.loads, loads)
        for user in users:
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
    return flat(sums)


def flat(sums: dict[Sum, int]) -> str:
    """ARGV[4] of ``aggregate.lua`` from summed ops (those adding nothing left out)."""
    ops: list[str | int] = []
    for (kind, key, member, day, window), amount in sums.items():
        if amount or kind in "pn":
            ops += [kind, key, member, amount, day, window]
    return _json(ops).decode()
