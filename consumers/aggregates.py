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

from collections import defaultdict
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

    def unique(self, name: str, day: int, member: str) -> list[Op]:
        """``member`` into the day HLL ``name`` and the window HLLs holding the day; the
        name into the set of names (the midnight merge walks it)."""
        window = self._hll_windows.get(name)
        if window is None:
            window = self._hll_windows[name] = self.key(self.keys.window_hll(name, PERIODS[0]))
            for period in PERIODS[1:]:
                self.key(self.keys.window_hll(name, period))
        return [("p", self.key(self.keys.day_hll(name, day)), member, 0, day, window),
                ("n", self.key(self.keys.hll_names), name, 0, 0, 0)]

    def sorted_add(self, kind: str, day: int, member: str, amount: int) -> Op:
        """A day sorted set increment, also applied to the windows holding the day."""
        key = self._day_sets.get((kind, day))
        if key is None:
            key = self._day_sets[kind, day] = self.key(self.keys.day_set(kind, day))
        window = self.window(kind) if kind in WINDOWED_KINDS else 0
        return ("z", key, member, amount, day, window)

    def ops(self, event: c.Event) -> list[Op]:
        """What one accepted event adds to the day aggregates."""
        day = day_number(event.ts.date())
        if isinstance(event, c.SessionStart):
            return self._session(event, day)
        if isinstance(event, c.PageView):
            return self._view(event, day)
        hash_ = self.day_hash(day)
        if isinstance(event, c.JsError):
            return [("h", hash_, "je", 1, 0, 0)]
        if isinstance(event, c.PasswordReset):
            return [("h", hash_, "pr", 1, 0, 0)]
        if isinstance(event, c.SecurityAlert):
            ops: list[Op] = [("h", hash_, "al", 1, 0, 0)]
            if event.alert_type in FAILED_LOGIN_ALERTS:
                ops.append(("h", hash_, "fl", 1, 0, 0))
            return ops
        return []

    def _session(self, e: c.SessionStart, day: int) -> list[Op]:
        hash_ = self.day_hash(day)
        who = "sa" if e.user_id is None else "sl"
        ops: list[Op] = [("h", hash_, "ss", 1, 0, 0), ("h", hash_, who, 1, 0, 0),
                         ("h", hash_, f"hr:{e.ts.hour}", 1, 0, 0)]
        if e.device_type is not None:
            ops.append(("h", hash_, f"dv:{e.device_type}", 1, 0, 0))
        if e.user_id is not None:
            ops += self.unique("users", day, str(e.user_id))
        return ops

    def _view(self, e: c.PageView, day: int) -> list[Op]:
        hash_ = self.day_hash(day)
        ops: list[Op] = [("h", hash_, "pv", 1, 0, 0), self.sorted_add("pv", day, e.path, 1)]
        if e.load_time_ms is not None:
            ops += [self.sorted_add("ld", day, e.path, e.load_time_ms),
                    self.sorted_add("ldn", day, e.path, 1)]
        user = None if e.user_id is None else str(e.user_id)
        if user is not None:
            ops += self.unique(f"p:{e.path}", day, user)
        for section in self.sections_of(e.path):
            ops.append(("h", hash_, f"sv:{section}", 1, 0, 0))
            if user is not None:
                ops += self.unique(f"s:{section}", day, user)
        return ops


def merged(inc: Increments, events: Iterable[c.Event]) -> str:
    """ARGV[4] of ``aggregate.lua``: the ops of ``events`` summed per (kind, key, member,
    day, window), flat; a batch repeats the same pages and days, so this is a fraction of
    the ops one by one (the script blocks the server while it runs)."""
    sums: dict[tuple[str, int, str, int, int], int] = defaultdict(int)
    for event in events:
        for kind, key, member, amount, day, window in inc.ops(event):
            sums[kind, key, member, day, window] += amount
    flat: list[str | int] = []
    for (kind, key, member, day, window), amount in sums.items():
        if amount or kind in "pn":
            flat += [kind, key, member, amount, day, window]
    return _json(flat).decode()
