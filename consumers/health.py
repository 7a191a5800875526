"""Whether a consumer process makes progress, read from its ``/metrics`` (what the
container healthcheck ``insights health consumer`` asks)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

LAG: str = "insights_consumer_lag"
LAST_COMMIT: str = "insights_last_commit_timestamp_seconds"


def verdict(metrics: str, now: float, max_commit_age_s: float) -> str | None:
    """None while the consumer keeps up, else why it does not.

    Keeping up: nothing waits to be read (its lag, summed over its partitions, is 0),
    or its last commit is younger than ``max_commit_age_s``. A live but idle consumer
    commits nothing, so the age alone would call it stuck; a consumer behind whose
    commits stopped is stuck (a sink retrying forever, a wedged writer).
    """
    lag = 0.0
    last_commit = 0.0
    for family in text_string_to_metric_families(metrics):
        if family.name == LAG:
            lag = sum(sample.value for sample in family.samples)
        elif family.name == LAST_COMMIT and family.samples:
            last_commit = family.samples[0].value
    if lag <= 0:
        return None
    if last_commit <= 0:
        return f"{lag:.0f} records behind and no batch committed yet"
    age = now - last_commit
    if age > max_commit_age_s:
        return f"{lag:.0f} records behind and the last commit is {age:.0f} s old"
    return None
