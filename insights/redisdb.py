"""Redis connections and the project's Lua scripts (``insights/lua/*.lua``)."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any, cast

import redis

from insights.keys import Keys

log = logging.getLogger(__name__)

Client = redis.Redis
Pipeline = Any  # redis-py's pipeline type is not generic-friendly


def connect(url: str) -> Client:
    """A client that answers ``str`` and gives up on a dead server within seconds."""
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                socket_connect_timeout=5, health_check_interval=30)


def _source(name: str) -> str:
    return resources.files("insights").joinpath("lua", f"{name}.lua").read_text()


class Scripts:
    """The Lua scripts, registered once per client (EVALSHA, loaded again if flushed)."""

    def __init__(self, client: Client) -> None:
        self.counters = client.register_script(_source("counters"))
        self.rank = client.register_script(_source("rank"))
        self.aggregate = client.register_script(_source("window") + _source("aggregate"))
        self.maxset = client.register_script(_source("maxset"))
        self.sessions = client.register_script(_source("window") + _source("sessions"))
        self.roll = client.register_script(_source("roll"))


def roll_windows(client: Client, scripts: Scripts, keys: Keys, today: int) -> bool:
    """Move the window sets to ``today`` if they are behind (once, whoever calls first)."""
    asof = cast(str | None, client.get(keys.asof))
    if asof is None or int(asof) >= today:
        return False
    rolled = bool(scripts.roll(keys=keys.roll(int(asof), today), args=[asof, today]))
    if rolled:
        log.info("window sets rolled from day %s to %d", asof, today)
    return rolled
