"""Keys of read-model generations no longer wanted, found and deleted.

A backfill builds the next generation of the read model beside the one in use
(``consumers.backfill``) and drops the old one after the switch; keys of a build
abandoned for another, or of a key layout before generations, are swept at the
start of the next one. Deletion is by ``SCAN`` and ``UNLINK`` in chunks, so a
large prefix never blocks Redis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import text

CHUNK = 1000     # keys per SCAN page and per UNLINK


def sweep(client: Any, keys: Keys, keep: set[str | None],
          step: Callable[[], None] = lambda: None) -> int:
    """Delete the read model's keys under ``keys.prefix`` but those of the generations in
    ``keep`` (and of an older layout's); returns how many. ``step`` runs after each chunk."""
    return _unlink(client, (key for key in _scan(client, keys.prefix)
                            if stale(key, keys, keep)), step)


def stale(key: str, keys: Keys, keep: set[str | None]) -> bool:
    """Whether ``key`` (under ``keys.prefix``) is read-model data of a generation not in
    ``keep``, or of a layout before generations; the prefix's own keys are not."""
    segment = key[len(keys.prefix) + 1:].split(":", 1)[0]
    if segment.startswith("{"):       # under the prefix itself: layout 2's or not the model
        return segment[1:2] in "uegr" or key in (keys.older_offsets,
                                                 f"{keys.prefix}:{{o}}:freshness")
    return segment not in keep


def drop(client: Any, generation: Keys) -> int:
    """Delete every key of one generation; returns how many."""
    return _unlink(client, _scan(client, generation.base))


def clear(client: Any, prefix: str) -> int:
    """Delete every key under ``prefix``, generations and all; returns how many."""
    return _unlink(client, _scan(client, prefix))


def _scan(client: Any, prefix: str) -> Iterator[str]:
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + ":*"
    for key in client.scan_iter(match=pattern, count=CHUNK):
        yield text(key) or ""


def _unlink(client: Any, keys: Iterable[str], step: Callable[[], None] = lambda: None) -> int:
    deleted, chunk = 0, []
    for key in keys:
        chunk.append(key)
        if len(chunk) == CHUNK:
            deleted += int(client.unlink(*chunk))
            chunk.clear()
            step()
    if chunk:
        deleted += int(client.unlink(*chunk))
    return deleted
