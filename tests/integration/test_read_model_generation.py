"""The read model's generation: a Redis that lost the read model (or holds another key
layout) is found, and rebuilt or refused with the way out, never misread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import redis
from typer.testing import CliRunner

from consumers import backfill
from consumers.batch import Item, decode
from consumers.durable import PostgresWrite
from consumers.guard import GuardedProjection, ReadModelLost
from consumers.lease import RebuildBusy
from consumers.offsets import condemn
from consumers.pipeline import Pipeline
from consumers.projection import RedisProjection
from consumers.protocol import Committed
from harness.factories import event
from harness.services import environment, in_use, unique, wait_for
from insights import stack
from insights.cli.app import app as cli
from insights.database import connect
from insights.events.kafka import Record
from insights.events.producer import Emitter
from insights.readmodel import generation
from insights.readmodel.keys import LAYOUT, Keys
from insights.settings import Settings
from tests.read_model import assert_same, documents, simulate, steady_now, wait_ingested


@pytest.fixture
def prefix(stack_urls: stack.StackUrls) -> Iterator[str]:
    name = unique("layout")
    yield name
    _forget(stack_urls.redis_url, name)


def _forget(url: str, prefix: str) -> None:
    """Delete the prefix's keys: what a restarted, flushed or failed-over Redis shows."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _older_read_model(url: str, prefix: str) -> None:
    """What a version before layout numbers left: offsets, no layout key."""
    client = redis.Redis.from_url(url)
    client.hset(Keys(prefix).older_offsets, "insights.sessions:0", 10)
    client.close()


def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def test_a_fresh_prefix_gets_a_generation_postgresql_vouches_for(
        stack_urls: stack.StackUrls, database_url: str, prefix: str) -> None:
    sink = GuardedProjection(stack_urls.redis_url, database_url, prefix, rebuild=False)
    sink.ensure(datetime.now(UTC))
    sink.ensure(datetime.now(UTC))
    client = _redis(stack_urls.redis_url)
    assert client.get(Keys(prefix).layout) == str(LAYOUT)
    with closing(connect(database_url)) as conn:
        assert generation.read_postgres(conn, prefix)[0] == client.get(Keys(prefix).generation)
    client.close()
    sink.close()


def test_an_older_layout_is_refused_with_the_way_out(
        stack_urls: stack.StackUrls, database_url: str, prefix: str) -> None:
    _older_read_model(stack_urls.redis_url, prefix)
    sink = GuardedProjection(stack_urls.redis_url, database_url, prefix, rebuild=False)
    with pytest.raises(ReadModelLost, match="insights backfill"):
        sink.ensure(datetime.now(UTC))
    with pytest.raises(ReadModelLost):
        sink.write([], Committed(), datetime.now(UTC))     # never writes into it either
    sink.close()


def test_consume_exits_with_the_way_out(settings: Settings, prefix: str) -> None:
    assert settings.redis_url
    _older_read_model(settings.redis_url, prefix)
    own = settings.model_copy(update={"redis_prefix": prefix, "redis_rebuild": "stop"})
    result = CliRunner(env=environment(own)).invoke(cli, ["consume"])
    assert result.exit_code == 3, result.output
    assert "insights backfill" in result.output


def test_a_lost_read_model_is_found_while_running_and_rebuilt(
        settings: Settings) -> None:
    """Redis loses the keys between two batches: the next batch finds it out, rebuilds
    the read model from PostgreSQL, and then applies itself on top, exactly once."""
    assert settings.redis_url and settings.postgres_url
    now = datetime.now(UTC) - timedelta(minutes=10)
    postgres = PostgresWrite(settings.postgres_url)
    sink = GuardedProjection(settings.redis_url, settings.postgres_url, settings.redis_prefix,
                         rebuild=True)
    sink.prepare(datetime.now(UTC))
    bodies = [event("user_upsert", now, user_id=1, email="a@example.com"),
              event("session_start", now, session_id="s1", user_id=1),
              event("pageview", now, session_id="s1", user_id=1, pageview_id="v1",
                    path="/forum", load_time_ms=4000)]
    later = [event("pageview", now, session_id="s1", user_id=1, pageview_id=f"v{n}",
                   path="/forum", load_time_ms=4000) for n in range(2, 5)]
    def batch(events: list[dict[str, object]], first: int) -> list[Item]:
        records = [Record("t", 0, first + n, None, msgspec.json.encode(e), 0)
                   for n, e in enumerate(events)]
        return decode(records, now=datetime.now(UTC), max_bytes=65536, max_future_s=300)

    for items in (batch(bodies, 0),):
        sink.write(items, postgres.write(items, datetime.now(UTC)).committed(), datetime.now(UTC))
    before = _redis(settings.redis_url).get(Keys(settings.redis_prefix).generation)
    _forget(settings.redis_url, settings.redis_prefix)            # Redis restarted empty
    items = batch(later, 3)
    sink.write(items, postgres.write(items, datetime.now(UTC)).committed(), datetime.now(UTC))
    client = _redis(settings.redis_url)
    after = client.get(Keys(settings.redis_prefix).generation)
    assert after is not None and after != before
    assert client.hget(in_use(client, settings.redis_prefix).offsets, "t:0") == "6"
    client.close()
    for what, got, want in documents(settings, datetime.now(UTC)):
        assert_same(what, got, want)
    sink.close()
    postgres.close()


def test_a_read_model_behind_the_kafka_log_is_condemned_and_rebuilt(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    """What the consumer does when it finds the projection's offsets before the first record
    Kafka keeps (``consumers.offsets.condemn``; the embedded broker cannot move a log's
    start, so the finding itself is unit-tested): readers are refused, and the consumer
    rebuilds the read model from PostgreSQL and goes on."""
    auto = settings.model_copy(update={"redis_rebuild": "auto"})
    sent = simulate(emitter, datetime.now(UTC), users=20, days=3, seed=17)
    run_pipeline(auto)
    wait_ingested(auto, sent)
    client = _redis(auto.redis_url or "")
    before = in_use(client, auto.redis_prefix).generation_id
    condemn(auto.redis_url or "", auto.postgres_url or "", auto.redis_prefix,
            [("insights.sessions", 0)])
    wait_for(lambda: client.get(Keys(auto.redis_prefix).generation) not in (None, before), 60,
             "the condemned read model rebuilt")
    emitter.emit(event("search", datetime.now(UTC), user_id=1, query="after"))
    emitter.flush()
    wait_ingested(auto, sent + 1)
    with closing(connect(auto.postgres_url or "")) as conn:
        assert generation.read_postgres(conn, auto.redis_prefix)[0] == client.get(
            Keys(auto.redis_prefix).generation)
    for what, got, want in documents(auto, steady_now(auto)):
        assert_same(what, got, want)
    client.close()


def test_a_build_begun_before_the_read_model_was_condemned_does_not_switch(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    """Its take-over marks are out of reach too: it is refused at the switch, and the
    consumer's own rebuild (a new generation) is what gets served."""
    auto = settings.model_copy(update={"redis_rebuild": "auto"})
    sent = simulate(emitter, datetime.now(UTC), users=20, days=3, seed=18)
    run_pipeline(auto)
    wait_ingested(auto, sent)
    client = _redis(auto.redis_url or "")
    keys = Keys(auto.redis_prefix)

    def condemned_meanwhile(done: int) -> None:
        if done:
            condemn(auto.redis_url or "", auto.postgres_url or "", auto.redis_prefix,
                    [("insights.sessions", 0)])

    sink = RedisProjection(auto.redis_url or "", auto.postgres_url or "", auto.redis_prefix)
    with closing(connect(auto.postgres_url or "")) as conn, closing(sink), \
            pytest.raises(RebuildBusy, match="condemned"):
        backfill.rebuild(sink, conn, datetime.now(UTC), condemned_meanwhile)
    refused = sink.keys.generation_id
    wait_for(lambda: client.get(keys.generation) not in (None, refused), 60,
             "the consumer's own rebuild")
    for what, got, want in documents(auto, steady_now(auto)):
        assert_same(what, got, want)
    client.close()
