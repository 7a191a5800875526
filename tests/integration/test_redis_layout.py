"""A read model of another key layout is refused with a way out, never misread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from typer.testing import CliRunner

from consumers.redis import LayoutMismatch, RedisSink
from insights import stack
from insights.cli import app as cli
from insights.keys import LAYOUT, Keys
from insights.settings import Settings
from tests.services import environment, unique


@pytest.fixture
def prefix(stack_urls: stack.StackUrls) -> Iterator[str]:
    name = unique("layout")
    yield name
    client = redis.Redis.from_url(stack_urls.redis_url)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _older_read_model(url: str, prefix: str) -> None:
    """What a version before layout numbers left: offsets, no layout key."""
    client = redis.Redis.from_url(url)
    client.hset(Keys(prefix).offsets, "insights.sessions:0", 10)
    client.close()


def test_a_fresh_prefix_is_marked_and_then_accepted(stack_urls: stack.StackUrls,
                                                    database_url: str, prefix: str) -> None:
    sink = RedisSink(stack_urls.redis_url, database_url, prefix)
    sink.check_layout()
    sink.check_layout()
    client = redis.Redis.from_url(stack_urls.redis_url, decode_responses=True)
    assert client.get(Keys(prefix).layout) == str(LAYOUT)
    client.close()
    sink.close()


def test_an_older_read_model_is_refused_until_it_is_rebuilt(
        stack_urls: stack.StackUrls, database_url: str, prefix: str) -> None:
    _older_read_model(stack_urls.redis_url, prefix)
    sink = RedisSink(stack_urls.redis_url, database_url, prefix)
    with pytest.raises(LayoutMismatch, match="insights backfill"):
        sink.check_layout()
    with pytest.raises(LayoutMismatch):
        sink.write([])                       # the sink never writes into it either
    sink.mark_layout()                       # what a backfill does after rebuilding
    sink.check_layout()
    sink.close()


def test_consume_exits_with_the_way_out(settings: Settings, prefix: str) -> None:
    assert settings.redis_url
    _older_read_model(settings.redis_url, prefix)
    own = settings.model_copy(update={"redis_prefix": prefix})
    result = CliRunner(env=environment(own)).invoke(cli, ["consume"])
    assert result.exit_code == 2, result.output
    assert "insights backfill" in result.output
