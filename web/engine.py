"""The web app's server connections: the SQLAlchemy engine (psycopg2, pooled, sessions in
UTC) and the Redis clients, both bounded in time when the app asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import redis
import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from insights import endpoints
from insights.settings import Settings
from web.deadlines import Guard

#: How much longer than ``statement_timeout`` a call may wait before its connection is
#: taken as stalled: a slow query is cancelled by the server first (the connection
#: stays usable); only a server that says nothing at all is cut off.
STALL_MARGIN_S = 0.25


def postgres_url(settings: Settings) -> str:
    """The configured PostgreSQL URL, else the embedded server's (started if needed)."""
    return settings.postgres_url or endpoints.resolve(settings).postgres_url


def server_urls(settings: Settings) -> tuple[str, str]:
    """PostgreSQL and Redis URLs: the configured ones, the embedded stack's for the others.

    The web app needs no Kafka: with both URLs configured nothing is started.
    """
    if settings.postgres_url and settings.redis_url:
        return settings.postgres_url, settings.redis_url
    urls = endpoints.resolve(settings)
    return urls.postgres_url, urls.redis_url


def create_engine(url: str, *, pool_size: int = 10, timeout_s: float | None = None) -> Engine:
    """A pooled engine on ``url``; every connection's session time zone is UTC.

    UTC matters for the SQL that extracts hours and dates from ``timestamptz``.
    With ``timeout_s`` (the web app's), statements are cancelled by the server after
    it, a free pooled connection is waited for that long, and a server that sends
    nothing for ``timeout_s`` + :data:`STALL_MARGIN_S` (connecting included) is cut
    off (``web.deadlines``): no call waits longer.
    """
    sa_url = make_url(url).set(drivername="postgresql+psycopg2")
    options = "-c timezone=UTC"
    extra: dict[str, Any] = {}
    if timeout_s is not None:
        options += f" -c statement_timeout={max(1, round(timeout_s * 1000))}"
        extra["pool_timeout"] = timeout_s
    engine = sqlalchemy.create_engine(
        sa_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        connect_args={"options": options, "connect_timeout": 5}, **extra,
    )
    if timeout_s is not None:
        guard = Guard(timeout_s + STALL_MARGIN_S)

        @event.listens_for(engine, "do_connect")
        def _connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
            return guard.connect(*cargs, **cparams)

    return engine


@contextmanager
def autocommit(lent: Any) -> Iterator[Any]:
    """The psycopg2 connection behind ``lent`` (a pool's proxy, e.g. from
    ``Engine.raw_connection``, or a plain connection) in autocommit mode for the block:
    a statement is then one round trip, without ``BEGIN`` and ``ROLLBACK`` around it.
    ``lent`` is closed (given back to its pool) afterwards, in its usual mode.

    The mode is set on the driver's connection itself: a pool's proxy does not pass
    attribute assignments on.
    """
    driver = getattr(lent, "dbapi_connection", lent)
    with closing(lent):
        driver.autocommit = True
        try:
            yield driver
        finally:
            if not driver.closed:
                driver.autocommit = False


def connect_redis(url: str, timeout_s: float) -> redis.Redis:
    """A Redis client (answering bytes) that gives up connecting, and waiting for any
    answer, after ``timeout_s``; one attempt per command (a retry would only double the
    wait on a stalled server; a pooled connection the server closed is replaced on
    checkout)."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
