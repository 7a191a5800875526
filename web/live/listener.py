"""The web process's one Redis subscription, feeding the hub.

Two channels: the consumer's batch announcements (``Keys.changes``: which users
changed) and ended log-in sessions (``Keys.sessions_ended``, from logout in any
web process). A lost connection is retried with backoff; when it comes back
every view is marked changed, since announcements may have been missed.
Also here: the periodic re-check of the sessions that hold sockets (an expired
or ended session closes its sockets even if no announcement reached us).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from insights.keys import Keys
from web.live.hub import Hub

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 10.0


def _users(data: bytes) -> list[int] | None:
    """The changed users of an announcement; None for "everybody" (or an old format)."""
    try:
        users = json.loads(data).get("users")
    except (ValueError, AttributeError):
        return None
    return [int(u) for u in users] if isinstance(users, list) else None


async def listen(url: str, keys: Keys, hub: Hub) -> None:
    """Forward announcements to ``hub`` until cancelled."""
    backoff = 0.5
    while True:
        client = aioredis.Redis.from_url(url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(keys.changes, keys.sessions_ended)
                hub.changed(None)
                backoff = 0.5
                async for message in pubsub.listen():
                    _dispatch(message, keys, hub)
        except (RedisError, OSError) as error:
            log.warning("live updates paused, Redis: %s; retrying in %.1f s", error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            await client.aclose()


def _dispatch(message: dict[str, object], keys: Keys, hub: Hub) -> None:
    if message.get("type") != "message":
        return
    channel, data = message.get("channel"), message.get("data")
    if not isinstance(data, bytes) or not isinstance(channel, bytes):
        return
    if channel.decode() == keys.changes:
        hub.changed(_users(data))
    else:
        hub.end_sessions({data.decode()})


async def watch_sessions(hub: Hub, alive: Callable[[Collection[str]], set[str]],
                         every_s: float) -> None:
    """Every ``every_s`` seconds, close the sockets whose session is no longer alive."""
    while True:
        await asyncio.sleep(every_s)
        held = hub.sessions()
        if not held:
            continue
        try:
            living = await asyncio.to_thread(alive, held)
        except Exception:
            log.exception("sessions of open sockets not re-checked")
            continue
        ended = held - living
        if ended:
            log.info("closing the sockets of %d ended sessions", len(ended))
            hub.end_sessions(ended)
