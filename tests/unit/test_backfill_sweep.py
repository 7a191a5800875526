"""Which keys a backfill's sweep deletes: other generations' and older layouts' data only."""

from __future__ import annotations

import pytest

from insights.readmodel.keys import Keys
from insights.readmodel.leftovers import stale

KEYS = Keys("site")
KEEP: set[str | None] = {"aaa", "bbb", None}


@pytest.mark.parametrize("key", [
    Keys("site", "old").user(7), Keys("site", "old").day(20000), Keys("site", "old").offsets,
    Keys("site", "old").engagement, "site:{u:3}:d:3", "site:{g}:d:20000", "site:{r}:stamps",
    "site:{e:1}:d:a@b.c", "site:{o}:offsets", "site:{o}:freshness",
])
def test_data_of_other_generations_and_older_layouts_goes(key: str) -> None:
    assert stale(key, KEYS, KEEP)


@pytest.mark.parametrize("key", [
    Keys("site", "aaa").user(7), Keys("site", "bbb").watermarks, Keys("site", "aaa").offsets,
    KEYS.generation, KEYS.building, KEYS.layout, KEYS.rebuild_lock, KEYS.audit, KEYS.lag,
    KEYS.login_failures("ip", "x"),
])
def test_the_kept_generations_and_the_prefix_own_keys_stay(key: str) -> None:
    assert not stale(key, KEYS, KEEP)
