"""The live views' hub: one computation per view for all its sockets, throttled, newest wins.

The hub waits on a clock the test moves (``tests.manual_clock``): a test waits until the
hub has done all it can (``settled``), then counts computations exactly and decides when
the next interval begins. Nothing here depends on how fast the machine is
(``test_live_under_load`` runs these tests on busy cores).
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from tests.manual_clock import PATIENCE_S, ManualClock
from web.live.hub import RETRY_S, SESSION_ENDED, Delivery, Hub, Subscriber
from web.live.watched import WatchedDocument, WatchedProfile, WatchedTab
from web.outage import TRY_AGAIN, Unavailable

TAB: WatchedDocument = WatchedTab("problems", "week", "all")
INTERVAL = 1.0


class Counting:
    """A view computation returning "VIEW#N", N counting its calls per view."""

    def __init__(self) -> None:
        self.calls: dict[WatchedDocument, int] = {}
        self.lock = threading.Lock()

    def __call__(self, view: WatchedDocument) -> str | None:
        with self.lock:
            self.calls[view] = self.calls.get(view, 0) + 1
            return None if view == WatchedProfile(404) else f"{view}#{self.calls[view]}"


def _document(delivery: Delivery | None) -> str | None:
    return None if delivery is None else delivery.document


def _mail(subscriber: Subscriber) -> str:
    """The document waiting in ``subscriber``'s mailbox (there must be one), taken."""
    assert not subscriber._mailbox.empty(), "nothing was offered"
    return subscriber._mailbox.get_nowait().document


def test_many_subscribers_share_one_computation_per_change() -> None:
    async def scenario() -> None:
        compute, clock = Counting(), ManualClock()
        hub = Hub(compute, INTERVAL, clock.sleep)
        subscribers = [Subscriber() for _ in range(50)]
        first = [await hub.subscribe(TAB, s) for s in subscribers]
        assert {f.document for f in first if f} == {"tab/problems/week/all#1"}
        hub.changed(None)
        await clock.settled()
        assert compute.calls[TAB] == 2
        assert {_mail(s) for s in subscribers} == {"tab/problems/week/all#2"}
        assert hub.watchers() == 50

    asyncio.run(scenario())


def test_a_burst_of_batches_is_recomputed_at_most_once_per_interval() -> None:
    async def scenario() -> None:
        compute, clock = Counting(), ManualClock()
        hub = Hub(compute, interval_s=0.2, sleep=clock.sleep)
        subscriber = Subscriber()
        await hub.subscribe(TAB, subscriber)
        hub.changed([1])                       # the first change computes at once...
        await clock.settled()
        assert compute.calls[TAB] == 2 and clock.slept == [0.2]
        for _ in range(19):                    # ...the rest of the burst waits
            hub.changed([1])
            await clock.settled()
        clock.advance(0.1)
        await clock.settled()
        assert compute.calls[TAB] == 2         # not before the interval is over
        clock.advance(0.1)
        await clock.settled()
        assert compute.calls[TAB] == 3         # then once for the 19, not 19 times
        assert _mail(subscriber) == "tab/problems/week/all#3"   # #2 was replaced
        clock.advance(0.2)
        await clock.settled()
        assert compute.calls[TAB] == 3 and clock.asleep() == 0  # nothing new: the loop ends

    asyncio.run(scenario())


def test_a_slow_subscriber_keeps_only_the_newest_document() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        hub = Hub(Counting(), INTERVAL, clock.sleep)
        slow, quick = Subscriber(), Subscriber()
        await hub.subscribe(TAB, slow)
        await hub.subscribe(TAB, quick)
        received = []
        for _ in range(5):
            hub.changed(None)
            clock.advance(INTERVAL)
            await clock.settled()
            received.append(_mail(quick))
        assert received == [f"tab/problems/week/all#{n}" for n in range(2, 7)]
        assert _mail(slow) == "tab/problems/week/all#6"
        assert slow._mailbox.empty()

    asyncio.run(scenario())


def test_profiles_recompute_only_for_their_changed_users() -> None:
    async def scenario() -> None:
        compute, clock = Counting(), ManualClock()
        hub = Hub(compute, INTERVAL, clock.sleep)
        ann, bo = WatchedProfile(1), WatchedProfile(2)
        for view in (ann, bo, TAB):
            await hub.subscribe(view, Subscriber())
        hub.changed([2, 7])
        await clock.settled()
        assert (compute.calls[ann], compute.calls[bo], compute.calls[TAB]) == (1, 2, 2)
        hub.changed(None)
        clock.advance(INTERVAL)
        await clock.settled()
        assert (compute.calls[ann], compute.calls[bo], compute.calls[TAB]) == (2, 3, 3)

    asyncio.run(scenario())


def test_an_unchanged_document_is_not_sent_again() -> None:
    async def scenario() -> None:
        calls, clock = [], ManualClock()
        hub = Hub(lambda view: calls.append(view) or "same", INTERVAL, clock.sleep)
        subscriber = Subscriber()
        assert _document(await hub.subscribe(TAB, subscriber)) == "same"
        hub.changed(None)
        await clock.settled()
        assert len(calls) == 2                 # recomputed...
        assert subscriber._mailbox.empty()     # ...and found unchanged

    asyncio.run(scenario())


def test_unknown_user_gives_none_and_last_unsubscribe_forgets_the_view() -> None:
    async def scenario() -> None:
        compute, clock = Counting(), ManualClock()
        hub = Hub(compute, INTERVAL, clock.sleep)
        subscriber = Subscriber()
        assert await hub.subscribe(WatchedProfile(404), subscriber) is None
        hub.unsubscribe(WatchedProfile(404), subscriber)
        hub.changed(None)
        await clock.settled()                  # nothing left running, nothing asleep
        assert compute.calls == {WatchedProfile(404): 1}
        assert hub.watchers() == 0 and hub.views() == 0 and clock.asleep() == 0

    asyncio.run(scenario())


def test_ending_a_session_closes_only_its_sockets() -> None:
    async def scenario() -> None:
        hub = Hub(Counting(), interval_s=0.0)
        mine, other, script = Subscriber("s1"), Subscriber("s2"), Subscriber(None)
        for subscriber in (mine, other, script):
            await hub.subscribe(TAB, subscriber)
        assert hub.credentials() == {"s1", "s2"}
        assert hub.revoke({"s1"}) == 1
        assert await asyncio.wait_for(mine.closed(), PATIENCE_S) == SESSION_ENDED
        assert other.close_code is None and script.close_code is None

    asyncio.run(scenario())


def test_a_failing_computation_keeps_the_last_document_and_tries_again() -> None:
    async def scenario() -> None:
        calls = []

        def flaky(view: WatchedDocument) -> str | None:
            calls.append(view)
            if len(calls) == 2:
                raise ConnectionError("Redis restarting")
            return f"doc{len(calls)}"

        clock = ManualClock()
        hub = Hub(flaky, interval_s=0.1, sleep=clock.sleep)
        subscriber = Subscriber()
        assert _document(await hub.subscribe(TAB, subscriber)) == "doc1"
        hub.changed(None)
        await clock.settled()
        assert len(calls) == 2 and subscriber._mailbox.empty()
        assert clock.slept == [RETRY_S]        # a failure waits longer than the interval
        # No new batch needed: the failed view is tried again by itself.
        clock.advance(RETRY_S)
        await clock.settled()
        assert len(calls) == 3 and _mail(subscriber) == "doc3"
        assert clock.slept == [RETRY_S, 0.1]

    asyncio.run(scenario())


def test_sockets_arriving_together_share_the_first_computation() -> None:
    async def scenario() -> None:
        compute = Counting()
        hub = Hub(compute, interval_s=0.0)
        documents = await asyncio.gather(*(hub.subscribe(TAB, Subscriber())
                                           for _ in range(30)))
        assert {_document(d) for d in documents} == {"tab/problems/week/all#1"}
        assert compute.calls[TAB] == 1
        # Later sockets get the last document at once.
        assert _document(await hub.subscribe(TAB, Subscriber())) == "tab/problems/week/all#1"
        assert compute.calls[TAB] == 1

    asyncio.run(scenario())


def test_the_first_computation_failing_fails_its_sockets_and_is_tried_again() -> None:
    async def scenario() -> None:
        outcomes = iter([ConnectionError("down"), "up"])

        def compute(view: WatchedDocument) -> str | None:
            outcome = next(outcomes)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        hub = Hub(compute, interval_s=0.0)
        with pytest.raises(ConnectionError):
            await hub.subscribe(TAB, Subscriber())
        assert _document(await hub.subscribe(TAB, Subscriber())) == "up"

    asyncio.run(scenario())


def test_a_view_a_server_cannot_compute_closes_its_sockets_with_1013_and_the_reason() -> None:
    async def scenario() -> None:
        down = Unavailable("redis", "Redis is unreachable.", state="unreachable")
        outcomes: list[str | Exception] = ["doc1", down, "doc3"]

        def compute(view: WatchedDocument) -> str | None:
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        clock = ManualClock()
        hub = Hub(compute, INTERVAL, clock.sleep)
        watching = [Subscriber(), Subscriber()]
        for subscriber in watching:
            assert _document(await hub.subscribe(TAB, subscriber)) == "doc1"
        hub.changed(None)
        await clock.settled()
        assert clock.asleep() == 0             # the view's loop ended: nothing to retry
        for subscriber in watching:
            assert subscriber.close_code == TRY_AGAIN
            assert subscriber.close_reason == "redis unreachable"
        # Not the stale document for one arriving meanwhile: a new computation.
        assert _document(await hub.subscribe(TAB, Subscriber())) == "doc3"

    asyncio.run(scenario())


def test_an_outage_closes_every_socket_with_1013() -> None:
    async def scenario() -> None:
        hub = Hub(Counting(), interval_s=0.0)
        watching = [Subscriber("s1"), Subscriber()]
        await hub.subscribe(TAB, watching[0])
        await hub.subscribe(WatchedProfile(5), watching[1])
        assert hub.outage(Unavailable("postgres", "down", state="timeout")) == 2
        for subscriber in watching:
            assert await asyncio.wait_for(subscriber.closed(), PATIENCE_S) == TRY_AGAIN
            assert subscriber.close_reason == "postgres timeout"

    asyncio.run(scenario())


def test_each_version_carries_the_patch_from_the_one_before() -> None:
    async def scenario() -> None:
        states = iter([{"n": 1, "rows": [1, 2]}, {"n": 2, "rows": [1, 3]}, {"n": 3, "rows": [1]}])
        clock = ManualClock()
        hub = Hub(lambda view: json.dumps(next(states)), INTERVAL, clock.sleep)
        subscriber = Subscriber()
        first = await hub.subscribe(TAB, subscriber)
        assert first is not None and first.version == 1 and first.patch is None
        assert json.loads(first.message(0)) == {"v": 1, "doc": {"n": 1, "rows": [1, 2]}}
        hub.changed(None)
        await clock.settled()
        second = subscriber._mailbox.get_nowait()
        assert second.version == 2
        assert json.loads(second.message(1)) == {"v": 2, "patch": [
            {"op": "replace", "path": "/n", "value": 2},
            {"op": "replace", "path": "/rows/1", "value": 3}]}
        # A socket last sent an older version gets the whole document.
        assert json.loads(second.message(0)) == {"v": 2, "doc": {"n": 2, "rows": [1, 3]}}
        hub.changed(None)
        clock.advance(INTERVAL)
        await clock.settled()
        third = subscriber._mailbox.get_nowait()
        assert json.loads(third.message(2))["patch"] == [
            {"op": "replace", "path": "/n", "value": 3},
            {"op": "replace", "path": "/rows", "value": [1]}]

    asyncio.run(scenario())
