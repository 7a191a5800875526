"""What each live socket shows: the same document as its ``GET`` route, as one JSON string."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import redis
from sqlalchemy.engine import Engine

from insights.readmodel.keys import Keys
from web import alerts
from web.documents.common import Freshness
from web.documents.schema import LiveDocument
from web.formats import encode
from web.freshness import read_freshness
from web.live.watched import WatchedAlerts, WatchedDocument, WatchedTab
from web.outage import translated
from web.profile import build_profile
from web.readcheck import ReadModelCheck
from web.reader import TabReader
from web.tabs.store import Store


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
        document: LiveDocument | None
        if isinstance(watched, WatchedTab):
            document = self._reader.tab(watched.tab, watched.period, watched.filter, now)
        elif isinstance(watched, WatchedAlerts):
            document = alerts.feed(self._engine, self._dashboard_url)
        else:
            document = build_profile(self._engine, self._store, watched.user_id, now)
        if document is None:
            return None
        document.freshness = self.freshness(now)
        return encode_text(document)

    def freshness(self, now: datetime) -> Freshness:
        """What every document carries about how fresh it is (``web.freshness``), read
        after the document: ``Unavailable`` when the keys it was read from are not the
        read model PostgreSQL vouches for (``web.readcheck``)."""
        read = read_freshness(self._redis, self._keys, now)
        self._check.check(read.generation, rebuilding=read.rebuilding)
        return read.freshness
