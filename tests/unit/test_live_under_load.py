"""The live hub's and listener's unit tests pass 20 times in a row while every core is
busy: they wait on events and on a clock the test moves, never on time, so a starved
event loop or worker thread changes nothing.

A busy-loop process per core (a ``stress``-like hog) runs for the whole test and is
stopped when it ends, failed or not; a hog whose test process died stops by itself.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
UNDER_LOAD = (HERE / "test_live_hub.py", HERE / "test_live_listener.py")
ROUNDS = 20

# Spins until its parent (this test's process) is gone or ``limit`` seconds have passed.
BUSY_LOOP = """
import os, sys, time
parent, until = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while os.getppid() == parent and time.monotonic() < until:
    sum(range(20_000))
"""
HOG_LIMIT_S = 600


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


@pytest.fixture
def hog() -> Iterator[list[subprocess.Popen[bytes]]]:
    """One busy-loop process per core, killed (and reaped) at the end of the test."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(_cores()):
            processes.append(subprocess.Popen(
                [sys.executable, "-c", BUSY_LOOP, str(os.getpid()), str(HOG_LIMIT_S)]))
        yield processes
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()


def _tests_in(path: Path) -> int:
    """The test functions of a module (none of them is parametrized)."""
    tree = ast.parse(path.read_text())
    return sum(isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
               for node in tree.body)


def test_the_live_unit_tests_pass_twenty_times_in_a_row_on_busy_cores(
        hog: list[subprocess.Popen[bytes]]) -> None:
    expected = ROUNDS * sum(_tests_in(path) for path in UNDER_LOAD)
    assert expected >= ROUNDS * 10
    # pytest's own run, each file named ROUNDS times (--keep-duplicates runs each time).
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-o", "addopts=", "--keep-duplicates",
         *[str(path) for _ in range(ROUNDS) for path in UNDER_LOAD]],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert all(process.poll() is None for process in hog), "the hog stopped early"
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert re.fullmatch(rf"{expected} passed in [0-9.]+s( \(.*\))?", summary), summary
