"""What this process may use of the machine: the CPU cores it can run on.

``os.cpu_count`` counts the host's cores; a process pinned to fewer (``taskset``,
a CPU set) or a container given a CPU quota (``docker run --cpus``, compose's
``cpus:``) gets less, and one worker per host core would only make them queue.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Final

CGROUP: Final = Path("/sys/fs/cgroup")
MEMBERSHIP: Final = Path("/proc/self/cgroup")


def usable_cpus(cgroup: Path = CGROUP, membership: Path = MEMBERSHIP) -> int:
    """The cores this process may use: its CPU affinity, capped by its cgroup's CPU
    quota rounded up (a quota of 1.5 cores is 2 workers), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:           # not on Linux: no affinity to read
        cores = os.cpu_count() or 1
    quota = cgroup_quota(cgroup, membership)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(cores, 1)


def cgroup_quota(cgroup: Path = CGROUP, membership: Path = MEMBERSHIP) -> float | None:
    """The CPU quota of this process in cores: the smallest of its cgroup's and its
    ancestors' (a parent's limit holds for its children), v2's ``cpu.max`` or v1's
    ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``, in the hierarchies mounted at
    ``cgroup`` (``membership`` names the groups); None when unlimited or not found."""
    try:
        v2, v1 = cgroup_paths(membership.read_text())
    except OSError:
        v2, v1 = "", ""
    quotas = [*_quotas(cgroup, v2, _v2_quota), *_quotas(cgroup / "cpu", v1, _v1_quota)]
    return min(quotas, default=None)


def _quotas(mount: Path, group: str, read: Callable[[Path], float | None]) -> list[float]:
    """The quotas ``read`` finds in ``group``'s directory and its ancestors up to
    ``mount``. ``/proc/self/cgroup`` names groups from the hierarchy's root, but a
    container's mount may start at its own group: its leading parts are dropped until
    the directory exists (the mount itself at the end)."""
    parts = PurePosixPath(group).parts
    found = next((d for d in (mount.joinpath(*parts[i:]) for i in range(len(parts) + 1))
                  if d.is_dir()), None)
    quotas: list[float] = []
    while found is not None:
        quota = read(found)
        if quota is not None:
            quotas.append(quota)
        found = found.parent if found != mount else None
    return quotas


def _v2_quota(directory: Path) -> float | None:
    try:
        return parse_v2((directory / "cpu.max").read_text())
    except OSError:
        return None


def _v1_quota(directory: Path) -> float | None:
    try:
        return parse_v1((directory / "cpu.cfs_quota_us").read_text(),
                        (directory / "cpu.cfs_period_us").read_text())
    except OSError:
        return None


def cgroup_paths(membership: str) -> tuple[str, str]:
    """This process's group in the v2 hierarchy and in v1's ``cpu`` controller, relative
    to their mounts ("" for the root, as inside a container), from ``/proc/self/cgroup``
    lines such as ``0::/user.slice`` and ``4:cpu,cpuacct:/docker/ab12``."""
    v2 = v1 = ""
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        relative = path.strip().lstrip("/")
        if controllers == "":
            v2 = relative
        elif "cpu" in controllers.split(","):
            v1 = relative
    return v2, v1


def parse_v2(text: str) -> float | None:
    """Cores of a v2 ``cpu.max`` ("QUOTA PERIOD" in µs, or "max PERIOD"); None when
    unlimited or unreadable."""
    fields = text.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    return _ratio(fields[0], fields[1])


def parse_v1(quota: str, period: str) -> float | None:
    """Cores of v1's ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` (µs; a quota of -1
    is unlimited); None when unlimited or unreadable."""
    return _ratio(quota.strip(), period.strip())


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None
