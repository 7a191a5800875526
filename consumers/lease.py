"""The rebuild's lease: one backfill per prefix, a lock in Redis kept alive while it works.

A thread renews the lock every third of its expiry with a compare-and-expire
script (``renew.lua``), so a phase that reports no progress for a long while
(the first rows of a large sort, a sweep that deletes little) does not lose it;
the rebuild asks ``check`` at each step and stops with ``RebuildBusy`` once the
lock is gone (Redis flushed, or a pause longer than the expiry).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import Client, Scripts

log = logging.getLogger(__name__)
LOCK_S = 60        # the lock's expiry; renewed every LOCK_S / 3


class RebuildBusy(RuntimeError):
    """Another process is rebuilding the read model under this prefix (or the rebuild
    lost its lock to one, after Redis was flushed while it ran)."""


class Lease:
    """The rebuild lock under ``keys.prefix``, held by ``token`` (see the module docstring)."""

    def __init__(self, client: Client, scripts: Scripts, keys: Keys, token: str,
                 wait_s: float = 0) -> None:
        self._client, self._scripts, self.token = client, scripts, token
        self.key = keys.rebuild_lock
        deadline = time.monotonic() + wait_s
        while not client.set(self.key, token, nx=True, ex=LOCK_S):
            if time.monotonic() >= deadline:
                raise RebuildBusy(f"the read model under {keys.prefix!r} is being rebuilt "
                                  "by another process (a killed one's lock expires within "
                                  f"{LOCK_S} s)")
            time.sleep(0.5)
        self._lost = False
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="rebuild-lease", daemon=True)
        self._keeper.start()

    def _keep(self) -> None:
        while not self._stop.wait(LOCK_S / 3):
            try:
                self._lost = not self._scripts.renew(keys=[self.key], args=[self.token, LOCK_S])
            except redis.RedisError as exc:      # tried again in LOCK_S / 3
                log.warning("could not renew the rebuild lock: %s", exc)
            if self._lost:
                return

    def check(self) -> None:
        """Renew the lock now; ``RebuildBusy`` once it is lost."""
        if self._lost or not self._scripts.renew(keys=[self.key], args=[self.token, LOCK_S]):
            self._lost = True
            raise RebuildBusy("the rebuild lost its lock (Redis flushed meanwhile?): "
                              "run it again")

    def checking(self, progress: Callable[[int], None]) -> Callable[[int], None]:
        """``progress``, checking the lock on the way."""
        def step(done: int) -> None:
            self.check()
            progress(done)
        return step

    def end(self) -> None:
        """Stop renewing (the lock itself goes with the switch, or by ``release``)."""
        self._stop.set()

    def release(self) -> None:
        """Stop renewing and drop the lock if it is still this rebuild's (best effort: it
        expires anyway)."""
        self.end()
        try:
            if self._client.get(self.key) == self.token:
                self._client.delete(self.key)
        except redis.RedisError:
            pass
