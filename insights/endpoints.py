"""Where the servers are: the configured URLs, or the embedded stack's for those left unset."""

from __future__ import annotations

import logging

from insights import stack
from insights.settings import Settings

log = logging.getLogger(__name__)


def resolve(settings: Settings) -> stack.StackUrls:
    """Configured URLs win; when any is unset the embedded stack is started (idempotent)."""
    if settings.kafka_bootstrap and settings.postgres_url and settings.redis_url:
        return stack.StackUrls(settings.kafka_bootstrap, settings.postgres_url, settings.redis_url)
    log.info("no URL configured for some servers: using the embedded stack in %s",
             settings.state_dir)
    embedded = stack.up(settings.state_dir)
    return stack.StackUrls(
        settings.kafka_bootstrap or embedded.kafka_bootstrap,
        settings.postgres_url or embedded.postgres_url,
        settings.redis_url or embedded.redis_url,
    )
