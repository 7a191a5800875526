"""The consumer's sinks, in write order: PostgreSQL first (the durable record), then Redis."""

from __future__ import annotations

from functools import partial

from consumers.postgres import PostgresSink
from consumers.readmodel import ReadModelSink
from consumers.sink import SinkFactory
from insights.settings import Settings
from insights.stack import StackUrls


def sink_factories(settings: Settings, urls: StackUrls) -> list[SinkFactory]:
    """PostgreSQL, then Redis (its recounts read what the PostgreSQL sink just wrote)."""
    sinks: list[SinkFactory] = [partial(PostgresSink, urls.postgres_url)]
    if settings.redis_sink:
        sinks.append(partial(ReadModelSink, urls.redis_url, urls.postgres_url,
                             settings.redis_prefix, settings.sections,
                             rebuild=settings.rebuilds_redis()))
    return sinks
