"""The web process's one Redis subscription, feeding the hub.

Two channels: the consumer's batch announcements (``Keys.changes``: which users
changed) and ended log-in sessions (``Keys.sessions_ended``, from logout in any
web process). Every (re)subscription marks every view changed, since
announcements may have been missed meanwhile; a lost connection is retried with
backoff, and nothing a message holds can stop the listener.
Also here: the periodic re-check of the credentials that hold sockets (an
expired or ended session, a revoked token or a lowered role closes them even if
no announcement reached us).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from typing import Any, Final

import msgspec
import redis.asyncio as aioredis

from insights.keys import Keys
from web.live.hub import Hub

log = logging.getLogger(__name__)
MAX_BACKOFF_S: Final = 10.0
HEALTH_CHECK_S: Final = 15


class _Announcement(msgspec.Struct):
    users: list[int] | None = None


_decode = msgspec.json.Decoder(_Announcement).decode


def changed_users(data: bytes) -> list[int] | None:
    """The changed users of an announcement; None for "everybody" (also when it cannot
    be read: recomputing too much is safe, too little is not)."""
    try:
        return _decode(data).users
    except msgspec.DecodeError:
        log.warning("unreadable change announcement: %r", data[:200])
        return None


async def listen(url: str, keys: Keys, hub: Hub) -> None:
    """Forward announcements to ``hub`` until cancelled."""
    backoff = 0.5
    while True:
        client = aioredis.Redis.from_url(url, health_check_interval=HEALTH_CHECK_S,
                                         socket_keepalive=True)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(keys.changes, keys.sessions_ended)
                async for message in pubsub.listen():
                    dispatch(message, keys, hub)
                    backoff = 0.5
        except asyncio.CancelledError:
            raise
        except Exception as error:       # Redis gone, or a bug: never stop listening
            log.warning("live updates paused (%r); retrying in %.1f s", error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            await client.aclose()


def dispatch(message: dict[str, Any], keys: Keys, hub: Hub) -> None:
    """Apply one pub/sub message to the hub."""
    kind, channel, data = message.get("type"), message.get("channel"), message.get("data")
    if kind == "subscribe":
        # Also after redis-py reconnected by itself: what came meanwhile is unknown.
        hub.changed(None)
        return
    if kind != "message" or not isinstance(data, bytes) or not isinstance(channel, bytes):
        return
    if channel == keys.changes.encode():
        hub.changed(changed_users(data))
    else:
        hub.revoke({f"s:{data.decode(errors='replace')}"})


async def watch_credentials(hub: Hub, allowed: Callable[[Collection[str]], set[str]],
                            every_s: float) -> None:
    """Every ``every_s`` seconds, close the sockets whose credential no longer admits."""
    while True:
        await asyncio.sleep(every_s)
        held = hub.credentials()
        if not held:
            continue
        try:
            still = await asyncio.to_thread(allowed, held)
        except Exception:
            log.exception("credentials of open sockets not re-checked")
            continue
        ended = held - still
        if ended:
            log.info("closing the sockets of %d ended sessions or revoked tokens", len(ended))
            hub.revoke(ended)
