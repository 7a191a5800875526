"""Detached server processes: spawn, liveness, stop."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
LOG_ROTATE_BYTES = 10 * 1024 * 1024

#: Servers started by this interpreter, kept so their exit status can be reaped
#: (no zombies, no "still running" ResourceWarning when a Popen is collected).
_children: dict[int, subprocess.Popen[bytes]] = {}
_exit_codes: dict[int, int] = {}


@dataclass(frozen=True)
class Spawned:
    """A started process: its pid and kernel start time (guards against pid reuse)."""

    pid: int
    start_time: int


def spawn(argv: Sequence[str], log_path: Path, *, cwd: Path, user: str | None = None) -> Spawned:
    """Start ``argv`` in its own session, output appended to ``log_path``.

    The process outlives this interpreter. ``user`` (root only) runs it as that
    system user.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    rotate_log(log_path)
    gid = pwd.getpwnam(user).pw_gid if user else None
    with log_path.open("ab") as log:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log.write(f"--- {stamp} insights stack: {shlex.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            user=user,
            group=gid,
            extra_groups=[] if user else None,
        )
    _children[proc.pid] = proc
    return Spawned(proc.pid, process_start_time(proc.pid) or 0)


def rotate_log(path: Path) -> None:
    """Move a log bigger than LOG_ROTATE_BYTES to ``<log>.1`` (one generation kept)."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


def log_tail(path: Path, lines: int = 12) -> str:
    """The last ``lines`` lines of a log file ("" if it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def process_start_time(pid: int) -> int | None:
    """Kernel start time of ``pid``, or None if it is gone or a zombie.

    A zombie main thread whose other threads are still exiting counts as alive:
    until the last thread is done, the process may still hold its sockets.
    """
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc (not Linux): fall back to a signal-0 probe
        return 0 if _signal_probe(pid) else None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in _DEAD and not _threads_running(pid):
        return None
    return int(fields[19])


_DEAD = ("Z", "X")


def _threads_running(pid: int) -> bool:
    """True if any thread of ``pid`` is not yet dead."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in _DEAD:
            return True
    return False


def _signal_probe(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _exit_codes[pid] = child.returncode
        del _children[pid]


def exit_code(pid: int) -> int | None:
    """Exit status of a server this interpreter started, if known and exited."""
    _reap(pid)
    return _exit_codes.get(pid)


def is_alive(pid: int | None, start_time: int | None) -> bool:
    """True if ``pid`` runs (not a zombie) and is the process started at ``start_time``."""
    if pid is None:
        return False
    now = process_start_time(pid)
    return now is not None and (not start_time or not now or now == start_time)


def stop(pid: int, start_time: int | None, steps: Sequence[tuple[int, float]]) -> bool:
    """Send each (signal, grace seconds) in turn until the process is gone.

    Returns True once it is gone; False if it survived every step.
    """
    for sig, grace in steps:
        if not is_alive(pid, start_time):
            return True
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        if wait_for(lambda: not is_alive(pid, start_time), grace, interval=0.02):
            return True
        _log.warning("pid %d still running %.0f s after %s", pid, grace, signal.Signals(sig).name)
    return not is_alive(pid, start_time)


def wait_for(check: Callable[[], bool], timeout: float, interval: float = POLL_SECONDS) -> bool:
    """Poll ``check`` until it is true (True) or ``timeout`` elapses (False).

    Polls every 10 ms at first, backing off to every ``interval`` seconds: quick
    restarts are noticed quickly without busy-polling slow ones.
    """
    deadline = time.monotonic() + timeout
    pause = min(0.01, interval)
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, interval)
