"""The embedded stack's JSON state file (ports and pids) and its lock."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"


@dataclass
class ServerRecord:
    """What the state file remembers about one server.

    ``start_time`` is the process start time (kernel clock ticks since boot) so a
    recycled pid is never mistaken for our server.
    """

    port: int
    pid: int | None = None
    start_time: int | None = None


def load(state_dir: Path) -> dict[str, ServerRecord]:
    """Read the state file; a missing or unreadable file means "nothing known"."""
    path = state_dir / STATE_FILE
    try:
        raw = json.loads(path.read_text())
        return {name: _record(fields) for name, fields in raw.get("servers", {}).items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        _log.warning("ignoring unreadable stack state file %s: %s", path, exc)
        return {}


def _record(fields: dict[str, Any]) -> ServerRecord:
    return ServerRecord(
        port=int(fields["port"]),
        pid=None if fields.get("pid") is None else int(fields["pid"]),
        start_time=None if fields.get("start_time") is None else int(fields["start_time"]),
    )


def save(state_dir: Path, records: dict[str, ServerRecord]) -> None:
    """Write the state file atomically (readers never see a half-written file)."""
    path = state_dir / STATE_FILE
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    body = {"servers": {name: asdict(rec) for name, rec in sorted(records.items())}}
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)


@contextmanager
def locked(state_dir: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the stack's lock file (blocks until free)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
