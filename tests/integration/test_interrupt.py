"""A Ctrl-C reaches a long query (``insights.database.cancel_on_interrupt``): the server
stops it and the command sees ``KeyboardInterrupt``; queries and connections otherwise
behave as in psycopg2's blocking mode. A rebuild that stops has its replayer processes'
queries cancelled too.

The wait callback is process-wide, so each case runs in a child process of its own.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from consumers import replayers
from consumers.projection import RedisProjection
from harness.services import scalar, wait_for
from insights import database
from insights.settings import Settings

_CHILD = """
import sys
from insights import database
database.cancel_on_interrupt()
url, name, sql = sys.argv[1:]
try:
    conn = database.connect(url, application_name=name)
    with conn.cursor() as cur:
        print("connected", flush=True)
        cur.execute(sql)
        print("result", cur.fetchall(), flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
except Exception as exc:
    print("error", type(exc).__name__, str(exc).splitlines()[0], flush=True)
    sys.exit(1)
"""


def _child(url: str, name: str, sql: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _CHILD, url, name, sql],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _running(url: str, name: str) -> int:
    return int(str(scalar(url, "SELECT count(*) FROM pg_stat_activity"
                              " WHERE application_name = %s AND state = 'active'", name)))


def test_ctrl_c_cancels_the_running_query_on_the_server(database_url: str) -> None:
    name = f"interrupt-{uuid.uuid4().hex[:8]}"
    child = _child(database_url, name, "SELECT pg_sleep(600)")
    try:
        wait_for(lambda: _running(database_url, name) == 1, 30, "the query running")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)     # not the query's 600 s
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert out.splitlines()[-1] == "interrupted"
    # The server stopped it too (a client that only went away would leave it running).
    wait_for(lambda: _running(database_url, name) == 0, 30, "the query gone on the server")


def test_queries_and_their_own_errors_are_unchanged(database_url: str) -> None:
    done = _child(database_url, "interrupt-plain", "SELECT 1 + 1").communicate(timeout=60)
    assert done[0].splitlines()[-1] == "result [(2,)]", done[1]
    timed_out = _child(database_url, "interrupt-timeout",
                       "SET statement_timeout = 100; SELECT pg_sleep(30)")
    out, err = timed_out.communicate(timeout=60)
    assert timed_out.returncode == 1, err                       # not taken for a Ctrl-C
    assert out.splitlines()[-1].startswith("error QueryCanceled"), out


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_times_out_while_connecting(silent_server: int) -> None:
    child = _child(f"postgresql://u:p@127.0.0.1:{silent_server}/x", "x", "SELECT 1")
    try:
        out, err = child.communicate(timeout=60)      # psycopg2's green mode alone hangs
    finally:
        child.kill()
    assert child.returncode == 1, err
    assert out.splitlines()[-1].startswith("error OperationalError timeout expired"), out


def _sleep_in_replayer(url: str, name: str) -> None:
    """Run in a replayer process: a long query, as a share's sums (90 s: long enough to
    tell, short enough that a regression fails rather than hits the test timeout)."""
    with replayers._interruptible():
        conn = database.connect(url, application_name=name)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(90)")


def test_a_rebuild_that_stops_cancels_its_replayers_queries(settings: Settings) -> None:
    url, name = settings.postgres_url or "", f"replayer-{uuid.uuid4().hex[:8]}"
    sink = RedisProjection(settings.redis_url or "", url, settings.redis_prefix)
    try:
        with pytest.raises(RuntimeError), replayers.Replayers(sink, 2) as pool:
            assert pool._pool is not None
            sleeping = pool._pool.submit(_sleep_in_replayer, url, name)
            wait_for(lambda: _running(url, name) == 1, 60, "the replayer's query running")
            raise RuntimeError("the rebuild stops (lock lost, Ctrl-C, ...)")
    finally:
        sink.close()
    # Out of the block only once the pool shut down: the query did not run its 90 s.
    assert isinstance(sleeping.exception(timeout=0), KeyboardInterrupt)
    wait_for(lambda: _running(url, name) == 0, 30, "the query gone on the server")
