"""The tabs' documents, each computed once for as long as it stays the answer.

A tab's document is a function of the read model and of the time: the day (its
windows) and, for the problems tab only, which locks have expired. So the last
document of a (tab, period, filter) is served again, without reading the read
model, while all of these still hold:

- no batch was projected since it was computed: the projection counts its
  batches (``Keys.freshness`` field ``batches``, raised after the batch's keys);
- the same generation is in use (``Keys.generation``: a backfill builds the next one
  beside it, and switches this name when done);
- it is the same UTC day, no earlier than the moment it was computed for, and,
  for the problems tab, before the next lock expiry after that moment
  (``Keys.locks``).

The check is one Redis round trip; a document computed while a batch landed is
not kept (the count read before and after differ), so a kept document never
mixes two states of the read model. Many people watching the same tab, and the
live views, then cost one computation per batch instead of one per reader.
"""

from __future__ import annotations

import copy
import threading
from datetime import date, datetime
from typing import Final, NamedTuple

from insights.readmodel.generation import InUse
from insights.readmodel.redisdb import Client, text
from web.documents.schema import TabDocument
from web.reader import Filter, Tab, TabReader

Asked = tuple[str, str, str]
"""What a document answers: (tab, period, filter)."""
LOCKED_TABS: Final = frozenset({"problems"})
"""The tabs whose documents change when a lock expires (its card and rows say who is
locked); the others depend on the time only through the day."""


class State(NamedTuple):
    """What a kept document depends on besides its day: the read model's state."""

    batches: str | None            # batches projected so far (``Keys.freshness``)
    generation: str | None         # ``Keys.generation``
    next_expiry: float | None      # the first lock expiry after the moment asked (epoch s)


class Kept(NamedTuple):
    """A document, the state and the moment it was computed for."""

    document: TabDocument
    state: State
    day: date
    at: float                      # epoch s
    locked: bool                   # a lock expiry changes it (``LOCKED_TABS``)

    def answers(self, state: State, now: datetime) -> bool:
        """Still the answer as of ``now``, the read model being in ``state``."""
        moment, expiry = now.timestamp(), self.state.next_expiry
        return (state.batches is not None
                and state[:2] == self.state[:2] and now.date() == self.day
                and self.at <= moment
                and (not self.locked or expiry is None or moment < expiry))


class TabCache:
    """A ``TabReader`` keeping each tab's last document while it is the answer (see the
    module docstring); the documents it returns are copies, free to be changed."""

    def __init__(self, reader: TabReader, client: Client, in_use: InUse) -> None:
        self._reader, self._redis, self._in_use = reader, client, in_use
        self._kept: dict[Asked, Kept] = {}
        self._lock = threading.Lock()

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        """The tab's document as of ``now`` (``web.reader.TabReader``)."""
        asked = (tab, period, filter_)
        before = self.state(now)
        with self._lock:
            kept = self._kept.get(asked)
        if kept is not None and kept.answers(before, now):
            return copy.copy(kept.document)
        used = self._in_use.keys.generation_id          # what the document is read from
        document = self._reader.tab(tab, period, filter_, now)
        if (before.batches is not None and before.generation == used
                and self.state(now)[:2] == before[:2]):
            with self._lock:
                self._kept[asked] = Kept(document, before, now.date(), now.timestamp(),
                                         tab in LOCKED_TABS)
        return copy.copy(document)

    def state(self, now: datetime) -> State:
        """The read model's ``State`` as of ``now``: one round trip."""
        k = self._in_use.keys
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(k.freshness, "batches")
        pipe.get(k.generation)
        pipe.zrangebyscore(k.locks, f"({now.timestamp()}", "+inf", start=0, num=1,
                           withscores=True)
        batches, generation, expiring = pipe.execute()
        return State(text(batches), text(generation),
                     float(expiring[0][1]) if expiring else None)
