"""``insights audit``: no difference on a healthy read model; after a Redis key is
corrupted, the exact tab and field, with the value PostgreSQL implies and the one found;
the result is a gauge of the web app's metrics."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import redis
from fastapi.testclient import TestClient

from consumers.pipeline import Pipeline
from harness.services import environment, in_use
from insights.events.producer import Emitter
from insights.settings import Settings
from scoring.windows import day_number
from tests.read_model import simulate, wait_ingested
from web.app import create_app


def _audit(settings: Settings) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "insights", "audit", "--sample", "10",
                           "--json"], env=environment(settings), capture_output=True,
                          timeout=300, check=False)
    return done.returncode, msgspec.json.decode(done.stdout) if done.stdout else {}


def test_the_audit_finds_nothing_then_names_a_corrupted_field(
        settings: Settings, emitter: Emitter, run_pipeline: Callable[[Settings], Pipeline]
) -> None:
    now = datetime.now(UTC)
    run_pipeline(settings)
    wait_ingested(settings, simulate(emitter, now, users=30, days=4, seed=21))
    code, healthy = _audit(settings)
    assert (code, healthy["differences"]) == (0, []), healthy
    # 3 tabs x 3 periods, engagement x 4 statuses x 3 periods, overview x 3 filters, users
    assert healthy["checked"] == 3 * 3 + 4 * 3 + 3 * 3 + 10

    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    keys = in_use(client, settings.redis_prefix)
    day = keys.day(day_number(now.date()))
    client.hincrby(day, "ss", 1000)                         # 1,000 sessions nobody started
    code, broken = _audit(settings)
    assert code == 1
    wheres = {(d["where"], d["field"]) for d in broken["differences"]}
    assert ("overview?period=day&filter=all", "chart_data.sessions[30]") in wheres, wheres
    one = next(d for d in broken["differences"]
               if (d["where"], d["field"]) == ("overview?period=day&filter=all",
                                               "chart_data.sessions[30]"))
    assert one["found"] == one["expected"] + 1000
    assert client.hget(keys.audit, "differences") == str(len(broken["differences"]))
    assert not [k for k in client.scan_iter(f"{settings.redis_prefix}-audit-*")]  # cleaned

    with TestClient(create_app(settings)) as web:
        metrics = web.get("/metrics").text
    assert f"insights_audit_differences {float(len(broken['differences']))}" in metrics
