"""What each live socket shows: the same document as its ``GET`` route, as one JSON string."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import redis
from sqlalchemy.engine import Engine

from insights.readmodel.generation import NONE
from insights.readmodel.keys import Keys
from web import alerts
from web.documents.common import Freshness
from web.documents.schema import LiveDocument
from web.formats import encode
from web.freshness import Read, read_freshness
from web.live.watched import WatchedAlerts, WatchedDocument, WatchedTab
from web.outage import translated
from web.profile import build_profile
from web.readcheck import ReadModelCheck
from web.reader import TabReader
from web.tabs.store import Store

T = TypeVar("T")


def encode_text(document: LiveDocument) -> str:
    """The JSON text of ``document``, the same JSON the ``GET`` routes send."""
    return encode(document).decode()


class Views:
    """Computes the watched documents (synchronously: the hub runs it in a worker thread)."""

    def __init__(self, reader: TabReader, engine: Engine, store: Store, *, client: redis.Redis,
                 keys: Keys, clock: Callable[[], datetime], dashboard_url: str = "") -> None:
        self._reader, self._engine, self._store = reader, engine, store
        self._dashboard_url = dashboard_url
        self._redis, self._keys, self._clock = client, keys, clock
        self._check = ReadModelCheck(engine, keys.prefix)

    def __call__(self, watched: WatchedDocument) -> str | None:
        """The document as of now, with its freshness; None for an unknown user.
        A server being down is raised as ``web.outage.Unavailable``."""
        with translated():
            return self._compute(watched)

    def _compute(self, watched: WatchedDocument) -> str | None:
        now = self._clock().astimezone(UTC)
        document, freshness = self.checked(partial(self._document, watched, now), now)
        if document is None:
            return None
        document.freshness = freshness
        return encode_text(document)

    def checked(self, read: Callable[[], T], now: datetime) -> tuple[T, Freshness]:
        """What ``read`` returns (read from the read model), with the freshness read after
        it: ``Unavailable`` when the generation in use is not the read model PostgreSQL
        vouches for (``web.readcheck``); read again when a backfill switched generations
        meanwhile (the generation it was read from is complete, but no longer the news)."""
        used = self._store.in_use.keys.generation_id
        found = read()
        fresh = self._read(now)
        if used != (fresh.generation or NONE):
            found = read()
            fresh = self._read(now)
        return found, fresh.freshness

    def _document(self, watched: WatchedDocument, now: datetime) -> LiveDocument | None:
        document: LiveDocument | None
        if isinstance(watched, WatchedTab):
            document = self._reader.tab(watched.tab, watched.period, watched.filter, now)
        elif isinstance(watched, WatchedAlerts):
            document = alerts.feed(self._engine, self._dashboard_url)
        else:
            document = build_profile(self._engine, self._store, watched.user_id, now)
        return document

    def freshness(self, now: datetime) -> Freshness:
        """What every document carries about how fresh it is (``web.freshness``), read
        after the document: ``Unavailable`` when the generation in use is not the read
        model PostgreSQL vouches for (``web.readcheck``)."""
        return self._read(now).freshness

    def _read(self, now: datetime) -> Read:
        """The freshness, checked (``web.readcheck``); the generation found is followed."""
        read = read_freshness(self._redis, self._store.in_use.keys, now)
        self._check.check(read.generation, rebuilding=read.rebuilding)
        if self._store.in_use.follow(read.generation):
            read = read_freshness(self._redis, self._store.in_use.keys, now)
            self._check.check(read.generation, rebuilding=read.rebuilding)
        return read
