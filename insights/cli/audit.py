"""``insights audit``: the live read model compared with what PostgreSQL says it should be.

The expected side is built from PostgreSQL, from one snapshot, under a scratch key
prefix with the very replay ``insights backfill`` runs (alerts paused), so the
audit writes nothing the dashboard reads and is safe while consumers run. Every
tab (each period and filter) and a sample of user profiles are then read from both
prefixes, as the API serves them, and compared field by field. The scratch keys
are deleted afterwards. The result is kept in Redis for the web app's metrics
(``insights_audit_differences``, ``insights_audit_timestamp_seconds``).

Events the consumers apply while the audit runs make the live side newer than the
snapshot; the report says how many records that was, and such differences
should vanish on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import redis
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consumers import backfill, collector
from consumers.projection import RedisProjection
from insights import database, endpoints, logs
from insights.cli.signals import stop_on_signals
from insights.readmodel import leftovers
from insights.readmodel.generation import current, new_generation
from insights.readmodel.keys import Keys
from insights.readmodel.redisdb import text
from insights.settings import Settings
from insights.stack import StackUrls
from scoring.pages import DEFAULT_SECTIONS
from scoring.windows import PERIODS
from web.engine import create_engine
from web.profile import build_profile
from web.reader import TAB_FILTERS, TABS
from web.tabs import RedisTabs

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@dataclass(frozen=True)
class Difference:
    """One field that differs: where (tab and query, or profile), the field's path, and
    the values expected (from PostgreSQL) and found (live)."""

    where: str
    field: str
    expected: Any
    found: Any


def differences(where: str, expected: Any, found: Any, path: str = "") -> Iterator[Difference]:
    """Every leaf that differs between two JSON documents (lists compared by position)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        for key in sorted(set(expected) | set(found), key=str):
            yield from differences(where, expected.get(key), found.get(key),
                                   f"{path}.{key}" if path else str(key))
    elif isinstance(expected, list) and isinstance(found, list):
        for i in range(max(len(expected), len(found))):
            yield from differences(where, expected[i] if i < len(expected) else None,
                                   found[i] if i < len(found) else None, f"{path}[{i}]")
    elif expected != found:
        yield Difference(where, path or "(document)", expected, found)


def run(sample: int, *, as_json: bool = False) -> None:
    """``insights audit`` (the command's options are declared in ``insights.cli.app``)."""
    settings = Settings()
    logs.configure(settings.log_level)
    urls = endpoints.resolve(settings)
    stop_on_signals()                # Ctrl-C ends the rebuild's sums at once, not after them
    now = datetime.now(UTC)
    # Not under the live prefix: a rebuild of the live read model clears "prefix:*".
    scratch = f"{settings.redis_prefix}-audit-{new_generation()[:12]}"
    sink = RedisProjection(urls.redis_url, urls.postgres_url, scratch, settings.sections)
    client = redis.Redis.from_url(urls.redis_url, decode_responses=True)
    try:
        with closing(database.connect(urls.postgres_url)) as conn:
            with console.status("rebuilding the expected read model from PostgreSQL"):
                collector.tune()          # a replay is batch work: see consumers.collector
                backfill.rebuild(sink, conn, now)
            moved = _moved(client, Keys(settings.redis_prefix), Keys(scratch))
            found, checked = _compare(settings, urls, (settings.redis_prefix, scratch), sample,
                                      now)
            _forget(conn, scratch)
    finally:
        leftovers.clear(sink.client(), scratch)
        sink.close()
    _keep(client, Keys(settings.redis_prefix), len(found), checked)
    if as_json:
        out.print_json(msgspec.json.encode({"checked": checked, "moved": moved,
                                            "differences": found}).decode())
    else:
        _report(found, checked, moved)
    if found:
        raise typer.Exit(1)


def _compare(settings: Settings, urls: StackUrls, prefixes: tuple[str, str], sample: int,
             now: datetime) -> tuple[list[Difference], int]:
    """(differences, documents compared) between the live and the expected prefix."""
    client = redis.Redis.from_url(urls.redis_url, decode_responses=True)
    postgres_url = urls.postgres_url
    live, expected = (RedisTabs(client, lambda: database.connect(postgres_url), Keys(p),
                                settings.sections or DEFAULT_SECTIONS) for p in prefixes)
    found: list[Difference] = []
    checked = 0
    for tab in TABS:
        for period in PERIODS:
            for filter_ in TAB_FILTERS[tab]:
                where = f"{tab}?period={period}&filter={filter_}"
                _follow(client, live)
                found += differences(where, _json(expected.tab(tab, period, filter_, now)),
                                     _json(live.tab(tab, period, filter_, now)))
                checked += 1
    engine = create_engine(postgres_url, pool_size=1)
    try:
        for uid in _sample(postgres_url, sample):
            _follow(client, live)
            found += differences(f"users/{uid}",
                                 _json(build_profile(engine, expected.store, uid, now)),
                                 _json(build_profile(engine, live.store, uid, now)))
            checked += 1
    finally:
        engine.dispose()
    return found, checked


def _follow(client: redis.Redis, live: RedisTabs) -> None:
    """Read the live generation in use now (a backfill may switch it while the audit runs)."""
    live.store.in_use.follow(text(client.get(Keys(live.store.keys.prefix).generation)))


def _json(document: Any) -> Any:
    return msgspec.to_builtins(document)


def _sample(postgres_url: str, size: int) -> list[int]:
    """Up to ``size`` tracked users: the most recently active first, then at random."""
    with closing(database.connect(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute("""
WITH recent AS (SELECT id FROM users WHERE upserted_at IS NOT NULL
                ORDER BY last_login DESC NULLS LAST, id LIMIT %(half)s),
     rest AS (SELECT id FROM users WHERE upserted_at IS NOT NULL
              AND id NOT IN (SELECT id FROM recent) ORDER BY random()
              LIMIT greatest(0, %(size)s - (SELECT count(*) FROM recent)))
SELECT id FROM recent UNION ALL SELECT id FROM rest""", {"half": size // 2, "size": size})
        return [row[0] for row in cur.fetchall()]


def _moved(client: redis.Redis, live: Keys, expected: Keys) -> int:
    """Records the live read model is ahead of the snapshot (applied during the audit)."""
    offsets = [client.hgetall(used.offsets) if used else {}
               for used in (current(client, live), current(client, expected))]
    now_live, snapshot = ({k: int(v) for k, v in found.items()} for found in offsets)
    return sum(max(0, o - snapshot.get(k, 0)) for k, o in now_live.items())


def _forget(conn: Any, prefix: str) -> None:
    """Drop the scratch prefix's generation record (the rebuild vouched for it)."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM read_models WHERE prefix = %s", (prefix,))
    conn.commit()


def _keep(client: redis.Redis, keys: Keys, found: int, checked: int) -> None:
    client.hset(keys.audit, mapping={"at": f"{time.time():.3f}", "differences": found,
                                     "checked": checked})


def _report(found: list[Difference], checked: int, moved: int) -> None:
    if moved:
        console.print(f"{moved:,} records were applied while the audit ran: differences "
                      "from them are not faults; run the audit again to tell")
    if not found:
        console.print(f"no difference in {checked} documents (every tab, period and filter,"
                      " and the sampled profiles)")
        return
    table = Table("where", "field", "expected (PostgreSQL)", "found (live)",
                  title=f"{len(found)} differences in {checked} documents")
    for d in found[:200]:
        table.add_row(escape(d.where), escape(d.field), escape(repr(d.expected))[:80],
                      escape(repr(d.found))[:80])
    out.print(table)
    if len(found) > 200:
        console.print(f"... and {len(found) - 200} more")
