"""Redis connections and the project's Lua scripts (``insights/readmodel/lua/*.lua``)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, Final, NamedTuple, cast

import redis

from insights.readmodel.keys import WINDOW_SPANS, Keys
from insights.readmodel.userstate import SESSION_ERRORS_POSITION
from scoring.windows import PERIODS

log = logging.getLogger(__name__)

Client = redis.Redis
Pipeline = Any  # redis-py's pipeline type is not generic-friendly


def text(value: bytes | str | None) -> str | None:
    """A Redis reply as text, whichever way the client decodes its replies."""
    return value.decode() if isinstance(value, bytes) else value


def connect(url: str) -> Client:
    """A client that answers ``str`` and gives up on a dead server within seconds."""
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                socket_connect_timeout=5, health_check_interval=30)


LUA_CONSTANTS: Final[Mapping[str, str]] = {
    "SPANS": ", ".join(str(WINDOW_SPANS[p]) for p in PERIODS),
    "PERIODS": str(len(PERIODS)),
    "SESSION_ERRORS": str(SESSION_ERRORS_POSITION),
}
"""What the scripts' ``@NAME@`` placeholders become: formats defined once, in Python."""
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def render(source: str, constants: Mapping[str, str] = LUA_CONSTANTS) -> str:
    """``source`` with each ``@NAME@`` replaced by ``constants[NAME]`` (``KeyError`` for
    a name that has none, so a script never runs with a placeholder left in it)."""
    return _PLACEHOLDER.sub(lambda m: constants[m.group(1)], source)


def source(name: str) -> str:
    """The Lua script ``name`` as sent to Redis: its file, placeholders filled in."""
    text = resources.files("insights.readmodel").joinpath("lua", f"{name}.lua").read_text()
    return render(text)




class Scripts:
    """The Lua scripts, registered once per client (EVALSHA, loaded again if flushed)."""

    def __init__(self, client: Client) -> None:
        self.counters = client.register_script(source("counters"))
        self.rank = client.register_script(source("rank"))
        self.aggregate = client.register_script(source("window") + source("aggregate"))
        self.maxset = client.register_script(source("maxset"))
        self.sessions = client.register_script(source("window") + source("sessions"))
        self.roll = client.register_script(source("roll"))
        self.hll_roll = client.register_script(source("hll_roll"))
        self.generation = client.register_script(source("generation"))
        self.takeover = client.register_script(source("takeover"))
        self.renew = client.register_script(source("renew"))


def roll_windows(client: Client, scripts: Scripts, keys: Keys, today: int) -> bool:
    """Move the window sets to ``today`` if they are behind (once, whoever calls first)."""
    asof = cast(str | None, client.get(keys.asof))
    if asof is None or int(asof) >= today:
        return False
    rolled = bool(scripts.roll(keys=keys.roll(int(asof), today), args=[asof, today]))
    if rolled:
        log.info("window sets rolled from day %s to %d", asof, today)
    return rolled


HLL_CHUNK = 10       # names per hll_roll.lua call (~20 ms): the server is blocked while it runs


def merge_window_hlls(client: Client, scripts: Scripts, keys: Keys, today: int, ttl_s: int
                      ) -> bool:
    """Build the window HyperLogLogs anew for ``today`` (once the window sets rolled to it),
    unless that was done; returns whether it ran."""
    marks = cast(list[str | None], client.mget([keys.asof, keys.hll_asof]))
    if marks[0] != str(today) or (marks[1] is not None and int(marks[1]) >= today):
        return False
    names = sorted(cast(set[str], client.smembers(keys.hll_names)))
    days = [today + d for d in range(-max(WINDOW_SPANS.values()), 2)]    # to tomorrow
    counts = [WINDOW_SPANS[p] + 2 for p in PERIODS]         # each window's days, newest
    for start in range(0, len(names), HLL_CHUNK):
        chunk = names[start:start + HLL_CHUNK]
        names_keys: list[str] = []
        for name in chunk:
            names_keys += [keys.window_hll(name, period) for period in PERIODS]
            names_keys += [keys.day_hll(name, day) for day in days]
        scripts.hll_roll(keys=[*names_keys, keys.hll_names], args=[
            ttl_s, json.dumps([[name, len(days), *counts] for name in chunk])])
    client.set(keys.hll_asof, today)
    log.info("window HyperLogLogs of %d names merged for day %d", len(names), today)
    return True


class CounterCall(NamedTuple):
    """One counter hash for ``counters.lua``: its window sums asked as ``queries``
    (``insights.readmodel.userstate.script_queries``), with recounted values to store first."""

    key: str
    queries: str
    days: str = "{}"
    errors: str = "{}"


KEPT_FIELDS: Final = ("q", "qs", "trim")
"""Where ``counters.lua`` keeps its writers' sums in a counters hash: ``q`` the SHA-1 of
their queries, ``qs`` the sums; and ``trim``, the day it last trimmed, which every
hash the script wrote holds (so a hash without it does not exist)."""


def queries_digest(queries: str) -> str:
    """What ``counters.lua`` keys kept sums by: the SHA-1 of the queries' JSON, in hex
    (``redis.sha1hex``)."""
    return hashlib.sha1(queries.encode()).hexdigest()


def kept_sums(fields: Sequence[str | bytes | None], digest: str, size: int
              ) -> list[int] | None:
    """A counters hash's window sums from its ``KEPT_FIELDS``, when it keeps the sums of
    the queries whose digest is ``digest`` (``size`` of them); zeros when the hash does
    not exist; None when they must be added up (``counters.lua``)."""
    q, qs, trimmed = (v.decode() if isinstance(v, bytes) else v for v in fields)
    if q is None and qs is None and trimmed is None:
        return [0] * size
    if q != digest or qs is None:
        return None
    sums = [int(v) for v in qs.split()]
    return sums if len(sums) == size else None


def hash_tag(key: str) -> str:
    """The part of ``key`` Redis Cluster hashes: between the first ``{`` and ``}``."""
    start = key.find("{")
    end = key.find("}", start + 1)
    return key[start + 1:end] if start >= 0 and end > start + 1 else key


def counter_sums(client: Client, scripts: Scripts, head: Sequence[str | int],
                 calls: Sequence[CounterCall]) -> list[list[int]]:
    """Run ``calls`` with one ``counters.lua`` call per hash-tag group and queries, all
    in one pipeline; returns each call's sums, in order. ``head`` is the script's
    ARGV[1..4] (today, oldest day kept, ttl, stamp; zeros when only reading)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for n, call in enumerate(calls):
        groups.setdefault((hash_tag(call.key), call.queries), []).append(n)
    pipe = client.pipeline(transaction=False)
    for (_, queries), members in groups.items():
        args: list[str | int] = [*head, queries]
        for n in members:
            args += [calls[n].days, calls[n].errors]
        scripts.counters(keys=[calls[n].key for n in members], args=args, client=pipe)
    found: list[list[int]] = [[] for _ in calls]
    for members, reply in zip(groups.values(), pipe.execute(), strict=True):
        for n, sums in zip(members, reply, strict=True):
            found[n] = [int(v) for v in sums]
    return found
