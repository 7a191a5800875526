"""scoring stays pure: no servers, no environment, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scoring

SOURCES = sorted(Path(scoring.__file__).parent.glob("*.py"))
FORBIDDEN_MODULES = {"kafka", "redis", "psycopg2", "fastapi", "os", "time", "sqlalchemy"}
CLOCK_CALLS = {"today", "now", "utcnow", "time", "monotonic"}


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def clock_calls(tree: ast.AST) -> list[str]:
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    ]


def test_there_are_sources_to_check() -> None:
    assert len(SOURCES) >= 7


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_servers_environment_or_clock(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    assert imported_roots(tree) & FORBIDDEN_MODULES == set()
    assert clock_calls(tree) == []
    assert "environ" not in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def test_the_checks_catch_what_they_look_for() -> None:
    bad = ast.parse("import os\nfrom redis import Redis\nfrom datetime import date\ndate.today()")
    assert imported_roots(bad) & FORBIDDEN_MODULES == {"os", "redis"}
    assert clock_calls(bad) == ["date.today()"]
