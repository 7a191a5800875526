"""Redis memory of one key prefix: ``MEMORY USAGE`` summed over its keys, by kind of key.

More precise than the server's ``used_memory`` difference, which also counts
other prefixes on a shared server and allocator slack.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import redis

CHUNK = 1000
# Key kinds by what follows "PREFIX:GEN:" (the read model's keys; see
# ``insights.readmodel.keys``) or "PREFIX:" (the prefix's own), most specific first.
KINDS = (("{u:", "user day counters"), ("{e:", "e-mail day counters"),
         ("{g}:s:", "session snapshots"), ("{g}:v:", "lone page views"),
         ("{g}:h:", "HyperLogLogs"), ("{g}:", "site day aggregates"), ("{r}:", "rankings"),
         ("{o}:", "offsets"))


def _kind(rest: str) -> str:
    if not rest.startswith("{"):                  # GEN:{tag}:...: a generation's key
        rest = rest.partition(":")[2]
    return next((name for start, name in KINDS if rest.startswith(start)), "other")


def _chunks(client: redis.Redis, prefix: str) -> Iterator[list[str]]:
    chunk: list[str] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=CHUNK):
        chunk.append(key.decode() if isinstance(key, bytes) else str(key))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def used_memory(client: redis.Redis) -> int:
    """The server's ``INFO memory`` ``used_memory``, in bytes."""
    return int(client.info("memory")["used_memory"])


def prefix_usage(client: redis.Redis, prefix: str) -> tuple[Counter[str], Counter[str]]:
    """(bytes, keys) per kind of key under ``prefix`` (``MEMORY USAGE ... SAMPLES 0``)."""
    sizes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    skip = len(prefix) + 1
    for chunk in _chunks(client, prefix):
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            kind = _kind(key[skip:])
            sizes[kind] += int(size or 0)     # None: the key expired meanwhile
            counts[kind] += 1
    return sizes, counts


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    """UNLINK every key under ``prefix``; returns how many."""
    deleted = 0
    for chunk in _chunks(client, prefix):
        deleted += int(client.unlink(*chunk))
    return deleted


def measure(url: str, prefix: str, before: int, active: int) -> dict[str, Any]:
    """The prefix's bytes and keys (in total, per active user, by kind) and the server's
    ``used_memory`` now beside ``before`` (taken before any data)."""
    client = redis.Redis.from_url(url)
    try:
        sizes, counts = prefix_usage(client, prefix)
        after = used_memory(client)
    finally:
        client.close()
    total = sum(sizes.values())
    return {"prefix_bytes": total, "prefix_keys": sum(counts.values()),
            "bytes_per_active_user": round(total / max(1, active)),
            "used_memory_before": before, "used_memory_after": after,
            "used_memory_delta_per_active_user": round((after - before) / max(1, active)),
            "by_kind": {kind: {"bytes": sizes[kind], "keys": counts[kind]}
                        for kind in sorted(sizes, key=sizes.__getitem__, reverse=True)}}
