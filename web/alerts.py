"""The alerts as the web app shows them: the newest alerts, for the API and the live view."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from insights.alerts import store
from insights.alerts.payloads import profile_link
from web.documents.alerts import AlertItem, AlertsFeed
from web.formats import rfc3339

FEED_SIZE = 50


@contextmanager
def connection(engine: Engine) -> Iterator[Any]:
    """A pooled connection's psycopg2 connection, for ``insights.alerts.store``."""
    lent = engine.raw_connection()
    with closing(lent):
        yield lent.dbapi_connection


def recent(engine: Engine, dashboard_url: str, limit: int) -> list[AlertItem]:
    """The newest ``limit`` alerts and where their delivery stands."""
    with connection(engine) as conn:
        found = store.recent_alerts(conn, limit)
    return [AlertItem(id=a.id, rule=a.rule, user_id=a.user_id,
                      kind=a.kind,  # type: ignore[arg-type]
                      value=a.value, previous=a.previous, occurred_at=rfc3339(a.occurred_at),
                      delivery=a.delivery, link=profile_link(dashboard_url, a.user_id))
            for a in found]


def feed(engine: Engine, dashboard_url: str) -> AlertsFeed:
    """The Alerts view's document (its freshness is filled in by the caller)."""
    return AlertsFeed(alerts=recent(engine, dashboard_url, FEED_SIZE))
