"""A simulated site behind the browser tests: history ingested by a consumer that keeps
running, and an OFFICE_MANAGER account to look at it with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from harness.services import ConsumerProcess
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.read_model import simulate, wait_ingested
from tests.web_clients import make_account
from web.auth.accounts import Role

MANAGER = "office@corp.io"


def simulated_site(settings: Settings, emitter: Emitter,
                   consumer_process: Callable[[], ConsumerProcess], *, users: int,
                   days: int, seed: int) -> ConsumerProcess:
    """``users`` users' ``days`` of traffic, ingested; the consumer stays running."""
    sent = simulate(emitter, datetime.now(UTC), users=users, days=days, seed=seed)
    consumer = consumer_process().start()
    wait_ingested(settings, sent, check=consumer.check_alive)
    make_account(settings.postgres_url or "", MANAGER, Role.OFFICE_MANAGER)
    return consumer
