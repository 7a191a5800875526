"""Every producer a site may run: librdkafka (confluent-kafka) with each codec, headers,
idempotence and transactions, through the real broker into both sinks, exactly once.

The embedded broker (Tansu) returns the records of aborted transactions even to
``read_committed`` consumers (checked with kafka-python and librdkafka), so what
these tests can show of transactions is that committed ones are applied once and
that the consumer asks for committed records only; Apache Kafka does the filtering
in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import msgspec
from confluent_kafka import Producer

from consumers.pipeline import Pipeline
from harness.factories import Event, event
from harness.services import (
    ConsumerProcess,
    query,
    redis_records,
    scalar,
    stored_records,
    wait_for,
)
from insights.events import contract
from insights.events.kafka import EventConsumer, Rebalance
from insights.settings import Settings

CODECS = ("gzip", "snappy", "lz4", "zstd")
HEADERS = [("trace-id", b"4bf92f3577b34da6"), ("empty", None), ("binary", b"\xff\x00\xfe"),
           ("zażółć", "gęślą".encode())]


def librdkafka(settings: Settings, **config: Any) -> Iterator[Producer]:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 20,
                         "batch.num.messages": 40, **config})
    yield producer
    producer.flush(30)


def events_for(codec: str, now: datetime) -> list[Event]:
    """A session's worth of events of every topic, ids unique to the codec."""
    user, session = 100 + CODECS.index(codec), f"s-{codec}"
    made = [event("user_upsert", now, user_id=user, email=f"{codec}@example.com"),
            event("session_start", now, session_id=session, user_id=user),
            event("login_failed", now, user_id=user)]
    for n in range(60):
        made += [event("pageview", now, session_id=session, user_id=user,
                       pageview_id=f"{codec}-{n}", path=f"/forum/{n}"),
                 event("search", now, user_id=user, session_id=session, query=f"q {n}")]
    made.append(event("session_end", now, session_id=session, duration_seconds=60))
    return made


def produce(producer: Producer, settings: Settings, events: list[Event]) -> None:
    topics = settings.topics()
    for body in events:
        raw = msgspec.json.encode(body)
        decoded = contract.decode(raw, now=datetime.now(UTC))
        assert not isinstance(decoded, contract.Invalid), decoded
        producer.produce(topics[contract.TOPIC_OF_TYPE[body["type"]]], value=raw,
                         key=contract.message_key(decoded).encode(), headers=HEADERS)


def test_each_codec_with_headers_and_idempotence_is_applied_exactly_once(
        settings: Settings, run_pipeline: Callable[[Settings], Pipeline]) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    sent: list[Event] = []
    for codec in CODECS:
        batch = events_for(codec, now)
        for producer in librdkafka(settings, **{"compression.type": codec,
                                                "enable.idempotence": True}):
            produce(producer, settings, batch)
            produce(producer, settings, batch[:10])       # a producer's retry: same ids
        sent += batch
    records = len(sent) + 10 * len(CODECS)
    run_pipeline(settings)
    wait_for(lambda: stored_records(settings) >= records
             and redis_records(settings) >= records, 120, f"{records} records in both sinks")
    db = settings.postgres_url or ""
    assert scalar(db, "SELECT count(*) FROM rejected_events") == 0
    ledger = {row[0] for row in query(db, "SELECT event_id FROM event_ledger")}
    assert ledger == {e["event_id"] for e in sent}
    assert scalar(db, "SELECT count(*) FROM page_views") == 60 * len(CODECS)
    assert scalar(db, "SELECT count(*) FROM search_queries") == 60 * len(CODECS)
    assert query(db, "SELECT failed_login_attempts FROM users ORDER BY id") == [
        (1,)] * len(CODECS)


def test_a_transactional_producers_committed_records_are_applied_once(
        settings: Settings, run_pipeline: Callable[[Settings], Pipeline]) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    batch = events_for("lz4", now)
    for producer in librdkafka(settings, **{"transactional.id": f"tx-{settings.consumer_group}",
                                            "compression.type": "lz4"}):
        producer.init_transactions(30)
        for part in (batch[:60], batch[60:]):
            producer.begin_transaction()
            produce(producer, settings, part)
            producer.commit_transaction(30)
    run_pipeline(settings)
    # Control records (the commit markers) take offsets too, so count events, not offsets.
    db = settings.postgres_url or ""
    wait_for(lambda: scalar(db, "SELECT count(*) FROM event_ledger") >= len(batch), 120,
             f"{len(batch)} events applied")
    assert scalar(db, "SELECT count(*) FROM rejected_events") == 0
    assert {r[0] for r in query(db, "SELECT event_id FROM event_ledger")} == {
        e["event_id"] for e in batch}


def test_the_consumer_reads_committed_records_only(settings: Settings) -> None:
    consumer = EventConsumer(settings.kafka_bootstrap or "", settings.consumer_group,
                             list(settings.topics().values()),
                             Rebalance(lambda _: None, lambda _: None))
    try:
        assert consumer._consumer.config["isolation_level"] == "read_committed"
    finally:
        consumer.close()


def test_where_the_logs_start_is_read_from_inside_the_rebalance_listener(
        settings: Settings) -> None:
    """The consumer checks the projection against the logs' starts when it is assigned
    partitions, on the group consumer's network thread (``EventConsumer.log_starts``)."""
    found: list[dict[tuple[str, int], int]] = []
    consumer: EventConsumer | None = None

    def assigned(partitions: list[tuple[str, int]]) -> None:
        assert consumer is not None
        found.append(consumer.log_starts(partitions))

    consumer = EventConsumer(settings.kafka_bootstrap or "", settings.consumer_group,
                             list(settings.topics().values()),
                             Rebalance(assigned, lambda _: None))
    try:
        wait_for(lambda: consumer.poll(0.5, 10) is not None and bool(found), 60,
                 "partitions assigned")
    finally:
        consumer.close()
    topics = set(settings.topics().values())
    assert found[0] and {t for t, _ in found[0]} == topics
    assert set(found[0].values()) == {0}          # nothing was ever deleted from them


def test_a_batch_the_client_cannot_decode_is_dead_lettered_by_offset(
        settings: Settings, consumer_process: Callable[..., ConsumerProcess]) -> None:
    """A consumer whose machine lacks zstd's library: the zstd batches are dead-lettered
    with their offsets and raw bytes, everything else is applied, the consumer stays up."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    topic = settings.topics()["activity"]
    readable = [event("search", now, user_id=1, query=f"gzip {n}") for n in range(30)]
    unreadable = [event("search", now, user_id=1, query=f"zstd {n}") for n in range(30)]
    after = [event("search", now, user_id=1, query=f"after {n}") for n in range(30)]
    send = partial(_send_all, topic)
    for producer in librdkafka(settings, **{"compression.type": "gzip"}):
        send(producer, readable)
    for producer in librdkafka(settings, **{"compression.type": "zstd"}):
        send(producer, unreadable)
    for producer in librdkafka(settings, **{"compression.type": "gzip"}):
        send(producer, after)
    consumer = consumer_process(without=("zstandard",)).start()
    total = len(readable) + len(unreadable) + len(after)

    def settled() -> bool:
        consumer.check_alive()
        return stored_records(settings) >= total

    wait_for(settled, 120, f"{total} records stored")
    db = settings.postgres_url or ""
    assert scalar(db, "SELECT count(*) FROM search_queries") == len(readable) + len(after)
    dead = query(db, 'SELECT "offset", reason, detail, length(value) FROM rejected_events'
                 ' ORDER BY "offset"')
    assert [row[1] for row in dead] == ["undecodable"] * len(unreadable)
    assert [row[0] for row in dead] == list(range(len(readable),
                                                  len(readable) + len(unreadable)))
    assert all("zstd" in row[2] for row in dead)
    # Each batch's raw bytes are kept once, on the row of its first offset.
    firsts = {int(re.findall(r"offsets (\d+)\.\.", str(row[2]))[0]) for row in dead}
    assert {row[0] for row in dead if row[3] > 0} == firsts
    wait_for(lambda: redis_records(settings) >= total, 60, "the Redis sink past them too")
    assert consumer.terminate() == 0


def _send_all(topic: str, producer: Producer, events: list[Event]) -> None:
    for body in events:
        producer.produce(topic, key=b"1", value=msgspec.json.encode(body))
    producer.flush(30)

