"""Where benchmark figures go: printed, and written as JSON to ``bench/results/``."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def context() -> dict[str, str]:
    """When and on what the figures were measured (load included: runs vary with it)."""
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def write(kind: str, result: dict[str, Any]) -> Path:
    """Print ``result`` as a table and write it to ``results/KIND-WHEN.json``."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{kind}-{str(result['when']).replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, result))
    print("\n".join(f"{k:<{width}}  {v}" for k, v in result.items()))
    print(f"written to {path}")
    return path
