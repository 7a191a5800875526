"""Where the servers are: the configured URLs, or the embedded stack's for those left unset."""

from __future__ import annotations

import logging

from insights import stack
from insights.settings import Settings

log = logging.getLogger(__name__)


def resolve(settings: Settings) -> stack.StackUrls:
    """Configured URLs win; when any is unset the embedded stack is started (idempotent).

    Raises StackError when one is unset and ``INSIGHTS_EMBEDDED=never`` (as in the image),
    or when the embedded stack is not installed.
    """
    if settings.kafka_bootstrap and settings.postgres_url and settings.redis_url:
        return stack.StackUrls(settings.kafka_bootstrap, settings.postgres_url, settings.redis_url)
    if settings.embedded == "never":
        unset = [f"INSIGHTS_{name.upper()}" for name in ("kafka_bootstrap", "postgres_url",
                                                          "redis_url")
                 if not getattr(settings, name)]
        raise stack.StackError(f"{', '.join(unset)} not set, and INSIGHTS_EMBEDDED=never"
                               " forbids the embedded stack: set the servers' URLs")
    stack.require_embedded()
    log.info("no URL configured for some servers: using the embedded stack in %s",
             settings.state_dir)
    embedded = stack.up(settings.state_dir)
    return stack.StackUrls(
        settings.kafka_bootstrap or embedded.kafka_bootstrap,
        settings.postgres_url or embedded.postgres_url,
        settings.redis_url or embedded.redis_url,
    )
