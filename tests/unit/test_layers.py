"""The import graph follows the layers declared in pyproject.toml ([tool.importlinter])."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    return list(contract["layers"])


def test_the_entry_points_are_the_top_layer_and_scoring_the_bottom() -> None:
    layers = _layers()
    assert layers[0] == "insights.cli"
    assert layers[-1] == "scoring"
    jobs = {name.strip() for name in layers[1].split("|")}
    assert {"consumers", "web"} <= jobs           # independent: neither imports the other


def test_no_package_imports_a_layer_above_its_own() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    found = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                           text=True, check=False)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "0 broken" in found.stdout
