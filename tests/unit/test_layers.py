"""The import graph follows the contracts in pyproject.toml ([tool.importlinter]): the layers,
and the development tooling (harness, bench, tests) kept apart and out of the wheel."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def _contracts(kind: str) -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return [c for c in config["contracts"] if c["type"] == kind]


def _layers() -> list[str]:
    (contract,) = _contracts("layers")
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


def test_the_development_tooling_is_kept_apart_and_not_shipped() -> None:
    forbidden = {(tuple(c["source_modules"]), tuple(c["forbidden_modules"]))
                 for c in _contracts("forbidden")}
    assert (("insights", "consumers", "scoring", "web"), ("harness", "bench", "tests")) in forbidden
    assert (("harness",), ("tests", "bench")) in forbidden
    assert (("bench",), ("tests",)) in forbidden
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = {name.split(".")[0]
               for name in find_packages(ROOT, include=find["packages"]["find"]["include"])}
    assert shipped == {"insights", "consumers", "scoring", "web"}
