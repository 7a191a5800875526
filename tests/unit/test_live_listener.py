"""The listener's handling of pub/sub messages: nothing a message holds stops it.

The hub it feeds waits on a clock the test moves (``tests.manual_clock``), so each
message's recomputations are counted once the hub has settled, not after a sleep.
"""

from __future__ import annotations

import asyncio

from insights.readmodel.keys import Keys
from tests.manual_clock import PATIENCE_S, ManualClock
from web.live.hub import Hub, Subscriber
from web.live.listener import changed_users, dispatch
from web.live.watched import WatchedDocument, WatchedProfile, WatchedTab

KEYS = Keys("t")
TAB: WatchedDocument = WatchedTab("pages", "week", "all")
ANN: WatchedDocument = WatchedProfile(5)
INTERVAL = 1.0


def _message(channel: str, data: bytes, kind: str = "message") -> dict[str, object]:
    return {"type": kind, "channel": channel.encode(), "data": data}


def test_announcements_name_the_changed_users_or_everybody() -> None:
    assert changed_users(b'{"at": "2026-12-01T00:00:00Z", "users": [5, 7]}') == [5, 7]
    assert changed_users(b'{"users": null}') is None
    for broken in (b"not json", b'{"users": ["x"]}', b'{"users": [null]}', b"\xff\xfe"):
        assert changed_users(broken) is None


def test_messages_reach_the_hub_and_bad_ones_do_no_harm() -> None:
    async def scenario() -> None:
        computed: list[WatchedDocument] = []
        clock = ManualClock()
        hub = Hub(lambda view: computed.append(view) or f"{len(computed)}", INTERVAL,
                  clock.sleep)
        mine = Subscriber("s:abc")
        await hub.subscribe(TAB, Subscriber())
        await hub.subscribe(ANN, mine)
        computed.clear()
        dispatch(_message(KEYS.changes, b'{"users": [9]}'), KEYS, hub)
        await clock.settled()
        assert computed == [TAB]                      # user 5 did not change
        dispatch(_message(KEYS.changes, b"\x00garbage"), KEYS, hub)
        clock.advance(INTERVAL)
        await clock.settled()
        # Unreadable: everybody.
        assert sorted(computed, key=str) == sorted([TAB, TAB, ANN], key=str)
        dispatch({"type": "subscribe", "channel": KEYS.changes.encode(), "data": 1}, KEYS, hub)
        clock.advance(INTERVAL)
        await clock.settled()
        assert sorted(computed[3:], key=str) == sorted([TAB, ANN], key=str)  # everybody
        dispatch(_message(KEYS.sessions_ended, b"\xffzz"), KEYS, hub)
        assert mine.close_code is None                # a session nobody holds
        dispatch(_message(KEYS.sessions_ended, b"abc"), KEYS, hub)
        assert await asyncio.wait_for(mine.closed(), PATIENCE_S) == 4401

    asyncio.run(scenario())
