"""A record that fails in a way the code did not foresee is dead-lettered alone, in either
sink, and the rest of its batch is applied.

The failure is injected into our own row building (``consumers.rows``) and the Redis
sink's preparation (``consumers.aggregates``) for one marked event, in-process, against
the real PostgreSQL and Redis; the servers themselves are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from consumers import aggregates, rows
from consumers.batch import Item, decode
from consumers.durable import PostgresWrite
from consumers.guard import GuardedProjection
from harness.factories import event
from harness.services import query, redis_records, scalar
from insights.events.contract import Search
from insights.events.kafka import Record
from insights.settings import Settings

POISONED = "boom"


def batch(queries: list[str]) -> list[Item]:
    now = datetime.now(UTC) - timedelta(minutes=5)
    records = [Record("t", 0, n, b"7", msgspec.json.encode(event("search", now, user_id=7,
                                                                 query=q)), 0)
               for n, q in enumerate(queries)]
    return decode(records, now=datetime.now(UTC), max_bytes=65536, max_future_s=300)


@pytest.fixture
def sinks(settings: Settings) -> Iterator[tuple[PostgresWrite, GuardedProjection]]:
    assert settings.postgres_url and settings.redis_url
    postgres = PostgresWrite(settings.postgres_url)
    redis_sink = GuardedProjection(settings.redis_url, settings.postgres_url, settings.redis_prefix,
                               rebuild=False)
    redis_sink.prepare(datetime.now(UTC))   # as the pipeline does before consuming
    yield postgres, redis_sink
    redis_sink.close()
    postgres.close()


def _fail_for_poisoned(real: Any) -> Any:
    def wrapped(self_or_event: Any, *args: Any) -> Any:
        target = args[0] if isinstance(self_or_event, aggregates.Increments) else self_or_event
        if isinstance(target, Search) and target.query == POISONED:
            raise ZeroDivisionError("an unforeseen defect")
        return real(self_or_event, *args)
    return wrapped


def test_a_row_that_cannot_be_built_is_dead_lettered_alone(
        settings: Settings, sinks: tuple[PostgresWrite, GuardedProjection],
        monkeypatch: pytest.MonkeyPatch) -> None:
    postgres, _ = sinks
    monkeypatch.setattr(rows, "table_row", _fail_for_poisoned(rows.table_row))
    queries = [f"q{n}" for n in range(20)]
    queries[13] = POISONED
    result = postgres.write(batch(queries), datetime.now(UTC))
    assert [(r.record.offset, r.reason) for r in result.rejected] == [(13, "unprocessable")]
    assert result.rejected[0].detail == "ZeroDivisionError: an unforeseen defect"
    db = settings.postgres_url or ""
    assert scalar(db, "SELECT count(*) FROM search_queries") == 19
    assert query(db, 'SELECT "offset", reason FROM rejected_events') == [(13, "unprocessable")]
    assert query(db, "SELECT next_offset FROM sink_offsets WHERE sink = 'postgres'") == [(20,)]


def test_a_record_the_read_model_cannot_take_is_noted_and_passed(
        settings: Settings, sinks: tuple[PostgresWrite, GuardedProjection],
        monkeypatch: pytest.MonkeyPatch) -> None:
    postgres, redis_sink = sinks
    queries = [f"q{n}" for n in range(20)]
    queries[5] = POISONED
    items = batch(queries)
    written = postgres.write(items, datetime.now(UTC))
    assert not written.rejected
    monkeypatch.setattr(aggregates.Increments, "add",
                        _fail_for_poisoned(aggregates.Increments.add))
    result = redis_sink.write(items, written.committed(), datetime.now(UTC))
    assert [(r.record.offset, r.reason) for r in result.rejected] == [(5, "unprocessable")]
    assert redis_records(settings) == 20              # past it: never read again
    db = settings.postgres_url or ""
    detail = scalar(db, "SELECT detail FROM rejected_events WHERE \"offset\" = 5")
    assert str(detail).startswith("applied in PostgreSQL")
    assert scalar(db, "SELECT count(*) FROM search_queries") == 20
