"""``insights health consumer``'s verdict, over the text a consumer's own Metrics expose."""

from __future__ import annotations

from prometheus_client import generate_latest

from consumers.health import verdict
from consumers.metrics import Metrics

NOW = 1_800_000_000.0


def _exposed(lag: dict[int, int], last_commit: float | None) -> str:
    metrics = Metrics()
    for partition, behind in lag.items():
        metrics.lag.labels("insights.pageviews", str(partition)).set(behind)
    if last_commit is not None:
        metrics.last_commit.set(last_commit)
    return generate_latest(metrics.registry).decode()


def test_an_idle_consumer_is_healthy_however_old_its_last_commit() -> None:
    assert verdict(_exposed({0: 0, 1: 0}, NOW - 86400), NOW, 120) is None
    assert verdict(_exposed({}, None), NOW, 120) is None       # before the first measure


def test_a_consumer_behind_is_healthy_while_it_commits() -> None:
    assert verdict(_exposed({0: 500, 1: 20}, NOW - 30), NOW, 120) is None


def test_a_consumer_behind_whose_commits_stopped_is_not() -> None:
    assert verdict(_exposed({0: 500, 1: 20}, NOW - 300), NOW, 120) == (
        "520 records behind and the last commit is 300 s old")
    assert verdict(_exposed({0: 7}, None), NOW, 120) == (
        "7 records behind and no batch committed yet")
