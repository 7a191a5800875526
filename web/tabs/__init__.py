"""The Redis-backed tab reader: each tab's JSON from the consumer's aggregates and rankings."""

from __future__ import annotations

from datetime import datetime

import redis
from sqlalchemy.engine import Engine

from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import Client
from insights.settings import Settings
from scoring.engagement import STATUSES
from scoring.pages import DEFAULT_SECTIONS, SectionMap
from scoring.windows import parse_period
from web.documents.schema import TabDocument
from web.reader import Filter, Tab
from web.tabs import paths, site, users
from web.tabs.store import DBConnect, Store


class RedisTabs:
    """``TabReader`` over the Redis read model (and ``users`` rows from PostgreSQL)."""

    def __init__(self, client: Client, db: DBConnect, keys: Keys, sections: SectionMap) -> None:
        self.store = Store(client, db, keys)
        self._sections = sections

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        """The tab's document as of ``now`` (``web.reader.TabReader``)."""
        p = parse_period(period)
        if tab == "problems":
            return users.problems(self.store, p, now)
        if tab == "engagement":
            listed = filter_ if filter_ in STATUSES else None
            return users.engagement(self.store, p, now, listed)
        if tab == "pages":
            return site.pages(self.store, self._sections, p, now)
        if tab == "paths":
            return paths.paths(self.store, p, now)
        sessions = filter_ if filter_ in ("logged", "anonymous") else "all"
        return site.overview(self.store, sessions, now)


def build_reader(client: redis.Redis, engine: Engine, settings: Settings) -> RedisTabs:
    """The reader the app uses; it keeps its own client answering ``str``."""
    kwargs = dict(client.connection_pool.connection_kwargs)
    kwargs["decode_responses"] = True
    own = redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=client.connection_pool.connection_class, **kwargs))
    return RedisTabs(own, engine.raw_connection, Keys(settings.redis_prefix),
                     settings.sections or DEFAULT_SECTIONS)
