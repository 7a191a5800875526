"""The poison corpus through the real broker, consumer, PostgreSQL and Redis.

Every message that ever broke the consumer is produced between valid events; the
consumer (a real ``insights consume`` process) must stay up, dead-letter each
poison with its reason and offset, and apply every valid event exactly once, in
both sinks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from harness.factories import event
from harness.services import ConsumerProcess, query, redis_records, scalar, stored_records, wait_for
from insights.events.kafka import EventProducer
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.poison import POISON

pytestmark = pytest.mark.chaos


def test_the_consumer_survives_every_poison_and_applies_the_rest_once(
        settings: Settings, emitter: Emitter, raw_producer: EventProducer,
        consumer_process: Callable[[], ConsumerProcess]) -> None:
    topic = settings.topics()["activity"]
    now = datetime.now(UTC) - timedelta(minutes=5)
    consumer = consumer_process().start()
    for n, (_, raw, _) in enumerate(POISON):
        emitter.emit(event("search", now, user_id=7, query=f"before {n}"))
        raw_producer.send_raw(topic, b"7", raw)
    emitter.emit(event("search", now, user_id=7, query="last"))
    emitter.flush()
    raw_producer.flush()
    sent = 2 * len(POISON) + 1

    def settled() -> bool:
        consumer.check_alive()
        return stored_records(settings) >= sent and redis_records(settings) >= sent

    wait_for(settled, 120, f"{sent} records in both sinks")
    consumer.check_alive()
    db = settings.postgres_url or ""
    rejected = query(db, 'SELECT "offset", reason, value, detail FROM rejected_events'
                     ' ORDER BY "offset"')
    got = {bytes(value): (reason, detail) for _, reason, value, detail in rejected}
    for name, raw, reason in POISON:
        assert raw in got, f"{name}: not dead-lettered"
        assert got[raw][0] == reason, f"{name}: {got[raw]}"
        assert got[raw][1], name
    assert len(rejected) == len(POISON)
    assert scalar(db, "SELECT count(*) FROM search_queries") == len(POISON) + 1
    assert scalar(db, "SELECT count(DISTINCT query) FROM search_queries") == len(POISON) + 1
    assert consumer.terminate() == 0
