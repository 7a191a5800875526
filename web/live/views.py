"""What each live view shows: the same JSON as its ``GET`` route, as one string."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import redis
from sqlalchemy.engine import Engine

from insights.readmodel.keys import Keys
from scoring.windows import Period
from web.formats import encode
from web.freshness import read_freshness
from web.live.hub import View
from web.outage import translated
from web.profile import build_profile
from web.readcheck import ReadModelCheck
from web.reader import Filter, Tab, TabReader
from web.tabs.store import Store


def tab_view(tab: str, period: str, filter_: str) -> View:
    """The view of one tab with its period and filter."""
    return ("tab", tab, period, filter_)


def user_view(user_id: int) -> View:
    """The view of one user's profile."""
    return ("user", str(user_id))


def encode_text(document: dict[str, Any]) -> str:
    """The JSON text of ``document``, the same JSON the ``GET`` routes send."""
    return encode(document).decode()


class Views:
    """Computes views (synchronously: the hub runs it in a worker thread)."""

    def __init__(self, reader: TabReader, engine: Engine, store: Store, *, client: redis.Redis,
                 keys: Keys, clock: Callable[[], datetime]) -> None:
        self._reader, self._engine, self._store = reader, engine, store
        self._redis, self._keys, self._clock = client, keys, clock
        self._check = ReadModelCheck(engine, keys.prefix)

    def __call__(self, view: View) -> str | None:
        """The view's document as of now, with its freshness; None for an unknown user.
        A server being down is raised as ``web.outage.Unavailable``."""
        with translated():
            return self._compute(view)

    def _compute(self, view: View) -> str | None:
        now = self._clock().astimezone(UTC)
        if view[0] == "tab":
            _, tab, period, filter_ = view
            document = self._reader.tab(cast(Tab, tab), cast(Period, period),
                                        cast(Filter, filter_), now)
        else:
            profile = build_profile(self._engine, self._store, int(view[1]), now)
            if profile is None:
                return None
            document = profile
        return encode_text({**document, "freshness": self.freshness(now)})

    def freshness(self, now: datetime) -> dict[str, Any]:
        """What every document carries about how fresh it is (``web.freshness``), read
        after the document: ``Unavailable`` when the keys it was read from are not the
        read model PostgreSQL vouches for (``web.readcheck``)."""
        read = read_freshness(self._redis, self._keys, now)
        self._check.check(read.generation, rebuilding=read.rebuilding)
        return read.freshness
