"""The read benchmark's output: a table on stdout and ``bench/results/read-<time>.json``."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.latency import TARGET_P99_MS

RESULTS = Path(__file__).resolve().parent / "results"


def ratios(result: dict[str, Any]) -> dict[str, float]:
    """Per case, the reference's time over our HTTP p50 (how many times slower)."""
    found = {}
    for row in result["reference"]:
        p50 = result["http_ms"][row["case"]]["p50"]
        found[row["case"]] = round(row["seconds"] * 1000 / p50) if p50 else float("inf")
    return found


def report(result: dict[str, Any]) -> Path:
    """Complete ``result`` with the verdicts, write it as JSON and print the table."""
    when = datetime.now(UTC).isoformat(timespec="seconds")
    result = {"when": when, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              **result, "target_p99_ms": TARGET_P99_MS,
              "p99_under_target": {case: p["p99"] <= TARGET_P99_MS
                                   for case, p in result["http_ms"].items()},
              "computed_p99_under_target": {
                  case: p["p99"] <= TARGET_P99_MS
                  for case, p in result.get("http_cold_ms", {}).items()},
              "reference_over_http_p50": ratios(result)}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"read-{when.replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join([*_summary(result), "", *_table(result), "", *_profiles(result),
                     f"written to {path}"]))
    return path


def _summary(r: dict[str, Any]) -> list[str]:
    mem = r["redis_memory"]
    lines = [
        f"{r['users']:,} users, {r['events']:,} events (seed {r['seed']}), "
        f"{r['sessions']:,} sessions, {r['active_users']:,} active users (month window)",
        f"produce {r['produce_events_per_s']:,} events/s; ingest with both sinks (one consumer) "
        f"{r['ingest_events_per_s']:,} events/s over {r['ingest_seconds']} s "
        f"(PostgreSQL done after {r['postgres_done_after_s']} s)",
        f"Redis: {mem['prefix_bytes'] / 2**20:.1f} MiB under the prefix in "
        f"{mem['prefix_keys']:,} keys = {mem['bytes_per_active_user']:,} bytes per active user "
        f"(used_memory {mem['used_memory_before'] / 2**20:.0f} -> "
        f"{mem['used_memory_after'] / 2**20:.0f} MiB)",
    ]
    lines += [f"  {kind:<22} {v['bytes'] / 2**20:8.1f} MiB {v['keys']:>9,} keys"
              for kind, v in mem["by_kind"].items()]
    if "profile_http_ms" in r:
        p = r["profile_http_ms"]
        lines.append(f"user profile over HTTP (the 50 most engaged users): p50 {p['p50']} ms, "
                     f"p95 {p['p95']} ms, p99 {p['p99']} ms, n {p['n']}")
    lines.append(f"load average: {r.get('load_average_start')} at start, "
                 f"{r.get('load_average_end')} at end; code {r['code']['start']} at start, "
                 f"{r['code']['end']} at end")
    return lines


def _table(r: dict[str, Any]) -> list[str]:
    reference = {row["case"]: row for row in r["reference"]}
    ratio = r["reference_over_http_p50"]
    cold = r.get("http_cold_ms", {})
    head = (f"{'ms':<18}{'n':>4}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}  "
            f"<={TARGET_P99_MS:<3.0f}{'computed p50':>13}{'p99':>7}  <={TARGET_P99_MS:<3.0f}"
            f"{'in-proc p50':>11}{'p99':>8} | {'reference s':>11}  "
            f"{'how':<12}{'ratio':>9}  set SQL s")
    lines = [head, "-" * len(head)]
    for case, http in r["http_ms"].items():
        local, computed = r["in_process_ms"][case], cold.get(case)
        line = (f"{case:<18}{http['n']:4}{http['p50']:7.2f}{http['p95']:7.2f}{http['p99']:7.2f}"
                f"{http['max']:7.1f}  {_verdict(http):<3}  ")
        line += (f"{computed['p50']:13.2f}{computed['p99']:7.2f}  {_verdict(computed):<3}"
                 if computed else f"{'':>25}")
        line += f"{local['p50']:11.2f}{local['p99']:8.2f} |"
        if case in reference:
            row = reference[case]
            how = "measured" if row["how"] == "measured" else "extrapolated"
            line += f" {row['seconds']:11.2f}  {how:<12}{ratio[case]:>8,}x"
            if "set_sql_s" in row:
                line += f"  {row['set_sql_s']:9.2f}"
        lines.append(line)
    return lines


def _verdict(found: dict[str, float]) -> str:
    return "yes" if found["p99"] <= TARGET_P99_MS else "NO"


def _profiles(r: dict[str, Any]) -> list[str]:
    """The three costliest functions (own time per in-process read) of each slow case."""
    lines = []
    for case, rows in r["profiles"].items():
        lines.append(f"where {case} spends its time (ms per read, own / cumulative):")
        lines += [f"  {row['own_ms']:8.2f} {row['cumulative_ms']:8.2f}  {row['calls']:>7} calls"
                  f"  {row['function']}" for row in rows[:3]]
    return [*lines, ""] if lines else []
