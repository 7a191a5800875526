"""The SQLAlchemy engine of the web app (psycopg2, pooled, sessions in UTC)."""

from __future__ import annotations

import sqlalchemy
from sqlalchemy.engine import Engine, make_url

from insights import endpoints
from insights.settings import Settings


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


def create_engine(url: str, *, pool_size: int = 10) -> Engine:
    """A pooled engine on ``url``; every connection's session time zone is UTC.

    UTC matters for the SQL that extracts hours and dates from ``timestamptz``.
    """
    sa_url = make_url(url).set(drivername="postgresql+psycopg2")
    return sqlalchemy.create_engine(
        sa_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC", "connect_timeout": 5},
    )
