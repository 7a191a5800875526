"""The cores a process may use (``insights.machine``): affinity, capped by a cgroup quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from insights.machine import cgroup_paths, cgroup_quota, parse_v1, parse_v2, usable_cpus


@pytest.mark.parametrize(("text", "cores"), [
    ("max 100000\n", None), ("150000 100000\n", 1.5), ("50000 100000", 0.5),
    ("", None), ("garbage", None), ("0 100000", None), ("x 100000", None)])
def test_v2_cpu_max(text: str, cores: float | None) -> None:
    assert parse_v2(text) == cores


@pytest.mark.parametrize(("quota", "period", "cores"), [
    ("-1\n", "100000\n", None), ("200000\n", "100000\n", 2.0), ("", "100000", None),
    ("100000", "0", None)])
def test_v1_cfs_quota(quota: str, period: str, cores: float | None) -> None:
    assert parse_v1(quota, period) == cores


def test_the_process_group_is_read_per_hierarchy() -> None:
    hybrid = "9:name=systemd:/\n4:cpu,cpuacct:/docker/ab12\n3:cpuset:/other\n0::/user.slice\n"
    assert cgroup_paths(hybrid) == ("user.slice", "docker/ab12")
    assert cgroup_paths("0::/\n") == ("", "")        # inside a container's namespace
    assert cgroup_paths("") == cgroup_paths("junk\n4:cpu\n") == ("", "")


def _tree(tmp_path: Path, membership: str, files: dict[str, str]) -> tuple[Path, Path]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "membership").write_text(membership)
    return tmp_path / "fs", tmp_path / "membership"


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(8)), raising=False)


def test_a_container_quota_caps_the_cores(tmp_path: Path, eight_cores: None) -> None:
    root, membership = _tree(tmp_path, "0::/\n", {"fs/cpu.max": "200000 100000\n"})
    assert cgroup_quota(root, membership) == 2.0
    assert usable_cpus(root, membership) == 2


def test_a_fractional_quota_rounds_up(tmp_path: Path, eight_cores: None) -> None:
    root, membership = _tree(tmp_path, "0::/\n", {"fs/cpu.max": "150000 100000\n"})
    assert usable_cpus(root, membership) == 2
    root, membership = _tree(tmp_path / "b", "0::/\n", {"fs/cpu.max": "10000 100000\n"})
    assert usable_cpus(root, membership) == 1            # a tenth of a core: one worker


def test_v1_is_read_in_the_process_group_and_its_parents(tmp_path: Path) -> None:
    root, membership = _tree(tmp_path, "4:cpu,cpuacct:/batch/job\n", {
        "fs/cpu/batch/job/cpu.cfs_quota_us": "-1", "fs/cpu/batch/job/cpu.cfs_period_us": "100000",
        "fs/cpu/batch/cpu.cfs_quota_us": "300000", "fs/cpu/batch/cpu.cfs_period_us": "100000",
        "fs/cpu/cpu.cfs_quota_us": "-1", "fs/cpu/cpu.cfs_period_us": "100000"})
    assert cgroup_quota(root, membership) == 3.0         # the parent's limit holds


def test_a_v1_container_mounts_its_own_group_as_the_root(tmp_path: Path) -> None:
    """Docker on a v1 host: /proc/self/cgroup names the host's path, the mount starts
    at the container's group."""
    root, membership = _tree(tmp_path, "4:cpu,cpuacct:/docker/ab12\n", {
        "fs/cpu/cpu.cfs_quota_us": "150000\n", "fs/cpu/cpu.cfs_period_us": "100000\n"})
    assert cgroup_quota(root, membership) == 1.5


def test_the_smallest_v2_limit_on_the_way_up_holds(tmp_path: Path) -> None:
    root, membership = _tree(tmp_path, "0::/user.slice/app.scope\n", {
        "fs/user.slice/app.scope/cpu.max": "max 100000\n",
        "fs/user.slice/cpu.max": "150000 100000\n"})
    assert cgroup_quota(root, membership) == 1.5


def test_no_quota_leaves_the_affinity(tmp_path: Path, eight_cores: None) -> None:
    root, membership = _tree(tmp_path, "0::/user.slice\n", {
        "fs/user.slice/cpu.max": "max 100000\n"})
    assert cgroup_quota(root, membership) is None
    assert cgroup_quota(tmp_path / "missing", tmp_path / "missing") is None
    assert usable_cpus(root, membership) == 8
