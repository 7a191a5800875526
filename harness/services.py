"""Helpers over the real servers, for tests and benchmarks: databases, unique names,
admin statements, a consumer process, counts of applied records, waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import cast

import psycopg2
import redis
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from insights.database import connect
from insights.readmodel.generation import current
from insights.readmodel.keys import Keys
from insights.settings import Settings


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def admin(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    conn = psycopg2.connect(with_database(url, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def query(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall())
    finally:
        conn.close()


def scalar(url: str, sql: str, *params: object) -> object:
    return query(url, sql, *params)[0][0]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def stored_records(settings: Settings, sink: str = "postgres") -> int:
    """Records the sink has applied (offsets start at 0 in the test's fresh topics)."""
    assert settings.postgres_url
    return int(cast("Decimal | int", scalar(
        settings.postgres_url,
        "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets WHERE sink = %s", sink)))


def redis_records(settings: Settings) -> int:
    """Records the Redis sink has applied (its stored offsets, summed)."""
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        used = current(client, Keys(settings.redis_prefix))
        return sum(int(v) for v in client.hvals(used.offsets)) if used else 0
    finally:
        client.close()


def in_use(client: redis.Redis, prefix: str) -> Keys:
    """The keys of the read model's generation in use under ``prefix`` (one must be)."""
    used = current(client, Keys(prefix))
    assert used is not None, f"no generation of the read model under {prefix!r}"
    return used


def environment(settings: Settings) -> dict[str, str]:
    """The process environment that reproduces ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    for name, dumped in settings.model_dump().items():
        value = dumped.get_secret_value() if isinstance(dumped, SecretStr) else dumped
        if value is not None:
            env[f"INSIGHTS_{name.upper()}"] = str(value)
    return env


class ConsumerProcess:
    """``insights consume`` as a child process, to be stopped or killed.

    ``without``: modules the process must not find (as on a machine lacking them),
    e.g. a compression codec's library.
    """

    def __init__(self, settings: Settings, log_dir: Path, without: tuple[str, ...] = ()) -> None:
        self._env = environment(settings)
        self._log_dir = log_dir
        self._starts = 0
        self._name = unique("consumer-")
        self._without = without
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ConsumerProcess:
        self._starts += 1
        log = (self._log_dir / f"{self._name}-{self._starts}.log").open("wb")
        command = [sys.executable, "-m", "insights", "consume"]
        if self._without:
            command = [sys.executable, "-c", (
                f"import sys, runpy; sys.modules.update(dict.fromkeys({list(self._without)!r}));"
                " sys.argv = ['insights', 'consume'];"
                " runpy.run_module('insights', run_name='__main__')")]
        self.process = subprocess.Popen(command, env=self._env, stdout=log,
                                        stderr=subprocess.STDOUT)
        return self

    def check_alive(self) -> None:
        """Fail at once, with the log's tail, if the process has exited."""
        assert self.process
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f"consumer exited with {code}:\n{self.log()[-4000:]}")

    def kill(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout_s: float = 30) -> int:
        assert self.process
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)

    def log(self) -> str:
        return "".join(p.read_text(errors="replace")
                       for p in sorted(self._log_dir.glob(f"{self._name}-*.log")))

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def admin_db(url: str, sql: str) -> None:
    """Run one statement in its own committed transaction on ``url``'s database."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.commit()
    finally:
        conn.close()
