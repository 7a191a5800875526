"""A clock the test moves, for code that waits with an injected ``sleep`` (the live hub's
recompute loops: ``web.live.hub.Hub(sleep=...)``).

A sleep on it ends only when the test moves the clock past its deadline (a sleep of 0 s
too), and the test can wait until every background task has finished or sleeps on it
(``settled``): "the change was handled" is then an event the test awaits, not a guess
at how long a worker thread takes on a busy machine.
"""

from __future__ import annotations

import asyncio
from typing import Final

PATIENCE_S: Final = 60.0
"""How long ``settled`` waits before failing: far more than a hub ever needs, so reaching
it means something never finished (a hang), not that the machine was slow."""


class ManualClock:
    """Time that stands still until ``advance``; ``slept`` lists every wait asked for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._asleep: dict[asyncio.Task[object], tuple[float, asyncio.Future[None]]] = {}
        self._arrivals: list[asyncio.Future[None]] = []

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock is moved to ``seconds`` after now (what is handed to the
        code under test instead of ``asyncio.sleep``)."""
        task = asyncio.current_task()
        assert task is not None, "ManualClock.sleep outside a task"
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._asleep[task] = (self.now + seconds, wake)
        self.slept.append(seconds)
        for arrival in self._arrivals:
            if not arrival.done():
                arrival.set_result(None)
        self._arrivals.clear()
        try:
            await wake
        finally:
            self._asleep.pop(task, None)    # cancelled while asleep

    def asleep(self) -> int:
        """How many tasks sleep on the clock."""
        return len(self._asleep)

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``: the sleeps it passes end (their tasks go on at
        the test's next await, ``settled`` say)."""
        self.now += seconds
        for task, (deadline, wake) in list(self._asleep.items()):
            if deadline <= self.now:
                del self._asleep[task]
                wake.set_result(None)

    async def settled(self) -> None:
        """Wait until every other task of the event loop has finished or sleeps on this
        clock (the code under test has done all it can until the clock moves); fails
        after :data:`PATIENCE_S`."""
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(PATIENCE_S):
            while True:
                busy = {t for t in asyncio.all_tasks() if t is not me and t not in self._asleep}
                if not busy:
                    return
                arrival: asyncio.Future[None] = loop.create_future()
                self._arrivals.append(arrival)
                try:
                    await asyncio.wait({*busy, arrival}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if arrival in self._arrivals:
                        self._arrivals.remove(arrival)
