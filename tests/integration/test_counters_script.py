"""``counters.lua`` on a real server: its cached window sums always equal a fresh sum.

The writers' sums are kept in the hash and moved by each change; a reader asking
other queries (here: the same ones plus one more) adds every field up afresh, so
the two must agree after any sequence of recounts, whatever their stamps. The
tabs read the kept sums with ``HMGET`` (``redisdb.kept_sums``): the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.services import unique
from insights import stack
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import (
    KEPT_FIELDS,
    CounterCall,
    Scripts,
    counter_sums,
    kept_sums,
    queries_digest,
)
from insights.readmodel.userstate import (
    USER_METRICS,
    script_days,
    script_queries,
    script_session_errors,
)

TODAY = 20_000
QUERIES = [("pv", TODAY - 30, 10**9), ("je", TODAY - 7, 10**9), ("s", TODAY, TODAY),
           ("pr", TODAY - 30, TODAY - 1)]
ASKED = script_queries(QUERIES, USER_METRICS)
FRESH = script_queries([*QUERIES, ("cv", TODAY, TODAY)], USER_METRICS)   # never cached


@pytest.fixture
def client(stack_urls: stack.StackUrls) -> Iterator[redis.Redis]:
    made = redis.Redis.from_url(stack_urls.redis_url, decode_responses=True)
    yield made
    made.close()


def _write(client: redis.Redis, key: str, stamp: int, days: dict[int, dict[str, int]],
           errors: dict[tuple[str, int], int]) -> list[int]:
    call = CounterCall(key, ASKED, script_days(days, USER_METRICS),
                       script_session_errors(errors))
    return counter_sums(client, Scripts(client), (TODAY, TODAY - 62, 600, stamp), [call])[0]


def _read(client: redis.Redis, key: str, asked: str) -> list[int]:
    return counter_sums(client, Scripts(client), (0, 0, 0, 0), [CounterCall(key, asked)])[0]


recounts = st.lists(st.tuples(
    st.integers(1, 50),                                              # stamp
    st.dictionaries(st.integers(TODAY - 40, TODAY + 1),
                    st.fixed_dictionaries({m: st.integers(0, 9) for m in ("s", "pv", "pr")}),
                    max_size=3),
    st.dictionaries(st.tuples(st.sampled_from(["a", "b:c"]), st.integers(TODAY - 10, TODAY)),
                    st.integers(1, 5), max_size=3)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recounts)
def test_cached_sums_equal_a_fresh_sum_after_any_recounts(
        client: redis.Redis, writes: list[tuple[int, dict[int, dict[str, int]],
                                               dict[tuple[str, int], int]]]) -> None:
    key = Keys(unique("counters"), "g").user(7)
    for stamp, days, errors in writes:
        written = _write(client, key, stamp, days, errors)
        assert written == _read(client, key, ASKED) == _read(client, key, FRESH)[:-1]
        # What the tabs read without the script: the kept sums, or "add them up".
        fields = client.hmget(key, list(KEPT_FIELDS))
        assert kept_sums(fields, queries_digest(ASKED), len(QUERIES)) == written
        other = kept_sums(fields, queries_digest(FRESH), len(QUERIES) + 1)
        assert other == (None if client.exists(key) else [0] * (len(QUERIES) + 1))
    client.delete(key)


def test_an_older_recount_does_not_replace_a_newer_one(client: redis.Redis) -> None:
    key = Keys(unique("counters"), "g").user(8)
    assert _write(client, key, 10, {TODAY: {"pv": 5}}, {("s1", TODAY): 2})[:2] == [5, 2]
    assert _write(client, key, 9, {TODAY: {"pv": 1}}, {("s1", TODAY): 1})[:2] == [5, 2]
    assert _write(client, key, 11, {TODAY: {"pv": 3}}, {("s2", TODAY): 1})[:2] == [3, 3]
    client.delete(key)


def test_days_older_than_the_kept_ones_are_dropped(client: redis.Redis) -> None:
    key = Keys(unique("counters"), "g").user(9)
    _write(client, key, 1, {TODAY - 70: {"pv": 4}, TODAY: {"pv": 1}}, {})
    assert sorted(f for f in client.hkeys(key) if f.isdigit()) == [str(TODAY)]
    assert _read(client, key, FRESH)[0] == 1
    client.delete(key)


def test_a_writer_keeps_the_new_days_sums_without_storing_anything(client: redis.Redis) -> None:
    """After midnight the roll re-scores users with nothing to store: their sums for the
    new day are kept then; an empty key is not created for it."""
    key, empty = Keys(unique("counters"), "g").user(10), Keys(unique("counters"), "g").user(11)
    _write(client, key, 1, {TODAY - 1: {"pv": 2}}, {})
    client.hdel(key, "q", "qs")                      # as if yesterday's queries were kept
    assert _write(client, key, 2, {}, {})[0] == 2
    assert client.hget(key, "q") is not None
    assert _write(client, empty, 2, {}, {})[0] == 0
    assert not client.exists(empty)
    client.delete(key)
