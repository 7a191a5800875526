"""The web process's one Redis subscription, feeding the hub.

Two channels: the consumer's batch announcements (``Keys.changes``: which users
changed) and ended log-in sessions (``Keys.sessions_ended``, from logout in any
web process). Every (re)subscription marks every view changed, since
announcements may have been missed meanwhile; a lost connection is retried with
backoff, and nothing a message holds can stop the listener.
A quiet subscription is pinged, so a Redis that stopped answering (a frozen
process, a dead network) is noticed like one that closed the connection: every
view is marked changed, and those that cannot be computed close their sockets
with 1013 (``web.live.hub``) while the listener keeps trying to come back.
Also here: the periodic re-check of the credentials that hold sockets (an
expired or ended session, a revoked token or a lowered role closes them even if
no announcement reached us; while PostgreSQL is down they close with 1013).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any, Final

import msgspec
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.client import PubSub

from insights.readmodel.keys import Keys
from web import outage
from web.live.hub import Hub

log = logging.getLogger(__name__)
MAX_BACKOFF_S: Final = 10.0
IDLE_PING_S: Final = 3.0
"""A subscription silent this long is pinged."""
PONG_WAIT_S: Final = 2.0
"""Least wait for the answer to that PING before the connection is given up."""
TICK_S: Final = 1.0


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


async def listen(url: str, keys: Keys, hub: Hub, timeout_s: float = 5.0) -> None:
    """Forward announcements to ``hub`` until cancelled; ``timeout_s`` bounds connecting
    and each command."""
    backoff = 0.5
    while True:
        client = aioredis.Redis.from_url(url, socket_timeout=timeout_s,
                                         socket_connect_timeout=timeout_s,
                                         socket_keepalive=True)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(keys.changes, keys.sessions_ended)
            if backoff > 0.5:
                log.info("live updates resumed")
            async for message in _messages(pubsub, max(timeout_s, PONG_WAIT_S)):
                dispatch(message, keys, hub)
                backoff = 0.5
        except asyncio.CancelledError:
            raise
        except Exception as error:       # Redis gone, or a bug: never stop listening
            log.warning("live updates paused (%s: %s); retrying in %.1f s",
                        type(error).__name__, error, backoff)
            # What the views show may be stale now, or not computable: find out.
            hub.changed(None)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            await _drop(pubsub, client, timeout_s)


async def _drop(pubsub: PubSub, client: aioredis.Redis, timeout_s: float) -> None:
    """Close the subscription's socket, then the client, within ``timeout_s``.

    Not ``PubSub.aclose``: it waits, and cannot be cancelled while it waits, for a
    lock that the cancelled read may still hold; once it never returned, and the
    web app's shutdown hung with it. The socket is closed without waiting for the
    close to finish (the client is dropped with it).
    """
    try:
        async with asyncio.timeout(timeout_s):
            if pubsub.connection is not None:
                await pubsub.connection.disconnect(nowait=True)
            await client.aclose()
    except Exception as error:       # a slow or failed close: the sockets go anyway
        log.debug("closing the live-updates subscription: %s: %s",
                  type(error).__name__, error)


async def _messages(pubsub: PubSub, pong_wait_s: float) -> AsyncIterator[dict[str, Any]]:
    """The subscription's messages (pongs included); raises ``TimeoutError`` when a PING
    sent after :data:`IDLE_PING_S` of silence is not answered within ``pong_wait_s``."""
    loop = asyncio.get_running_loop()
    heard, pinged = loop.time(), None
    while True:
        message = await pubsub.get_message(timeout=TICK_S)
        now = loop.time()
        if message is not None:
            heard, pinged = now, None
            yield message
        elif pinged is not None and now - pinged > pong_wait_s:
            raise redis.exceptions.TimeoutError(
                f"Redis did not answer a PING within {pong_wait_s:g} s")
        elif pinged is None and now - heard >= IDLE_PING_S:
            await pubsub.ping()
            pinged = now


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
        except Exception as error:
            down = outage.of(error)
            if down is None:
                log.exception("credentials of open sockets not re-checked")
            else:
                # Unchecked credentials must not keep sockets open (a revoked token...).
                log.warning("credentials of open sockets not re-checked (%s); closing them",
                            down.reason)
                hub.outage(down)
            continue
        ended = held - still
        if ended:
            log.info("closing the sockets of %d ended sessions or revoked tokens", len(ended))
            hub.revoke(ended)
