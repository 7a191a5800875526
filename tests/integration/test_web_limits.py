"""The web server's bounds over a real ``insights serve`` (uvicorn, httptools) on the real
PostgreSQL and Redis, with raw sockets: oversize and slow request heads, oversize and
slow bodies, requests and connections at once, WebSockets per token and in all, HSTS
behind a trusted proxy.

Every client socket has a timeout, so a server that hangs fails the test; nothing is
timed. Limits are set small here (the defaults are in the README's "Limits").
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from harness.services import environment
from insights.settings import Settings
from web.auth.accounts import Role, create_token
from web.engine import create_engine

TIMEOUT_S = 30.0            # any wait on the server: a hang fails instead of blocking
SMALL = {"web_max_header_bytes": 4096, "web_header_timeout_s": 2.0,
         "web_max_body_bytes": 2048, "web_body_timeout_s": 2.0}


class Server:
    """``insights serve`` as a child process on a free port."""

    def __init__(self, settings: Settings, log: Path) -> None:
        with closing(socket.socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "insights", "serve", "--port", str(self.port)],
                env=environment(settings), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"web app not serving:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                return True
        except OSError:
            return False

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT_S)

    def get(self, path: str = "/healthz", headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(f"{self.url}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start ``insights serve`` with these settings changed; stopped after the test."""
    servers: list[Server] = []

    def start(**overrides: Any) -> Server:
        servers.append(Server(settings.model_copy(update=overrides),
                              tmp_path / f"web-{len(servers)}.log"))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (a reset counts as closed)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, the connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                  if line.startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def closed_by_server(sock: socket.socket) -> bytes:
    """Wait (up to the socket's timeout) for the server to answer and close; its answer."""
    answer = read_all(sock)
    sock.close()
    return answer


def test_an_oversize_head_gets_431_and_closes_while_others_are_served(
        serve: Callable[..., Server]) -> None:
    server = serve(**SMALL)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n"
    for request in (head % (b"a" * 5000), b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /ws/tabs/problems HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                    b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Big: "
                    + b"a" * 5000 + b"\r\n\r\n"):
        sock = server.connect()
        sock.sendall(request)
        answer = closed_by_server(sock)
        assert status_of(answer) == 431, answer[:100]
        assert b"connection: close" in answer.lower()
    # Just under the limit is served.
    sock = server.connect()
    sock.sendall(head.replace(b"Host: x", b"Host: x\r\nConnection: close") % (b"a" * 3000))
    assert status_of(closed_by_server(sock)) == 200
    assert server.get()[0] == 200


def test_a_head_sent_without_end_is_cut_off_before_it_grows(
        serve: Callable[..., Server]) -> None:
    server = serve(**SMALL)
    sock = server.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    sent = 0
    with pytest.raises(OSError):        # the server closes: our sends fail
        while sent < 64 * 1024 * 1024:
            sock.sendall(b"a" * 1024)
            sent += 1024
    answer = closed_by_server(sock)
    assert answer == b"" or status_of(answer) == 431
    assert server.get()[0] == 200


def _trickle(sock: socket.socket, data: bytes, pause_s: float) -> bytes:
    """Send ``data`` a byte at a time until the server answers or closes; its answer
    (the test fails if all of it went through unanswered)."""
    for byte in data:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return closed_by_server(sock)
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return closed_by_server(sock)
        time.sleep(pause_s)
    raise AssertionError("the server took a whole trickled request")


def test_slow_heads_are_cut_off(serve: Callable[..., Server]) -> None:
    server = serve(**SMALL)
    slow = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"b" * 400 + b"\r\n\r\n"
    assert status_of(_trickle(server.connect(), slow, 0.1)) == 408
    # A connection that never sends anything is closed (quietly: it may be a spare).
    assert closed_by_server(server.connect()) == b""
    # The second request on a kept-alive connection is timed too.
    sock = server.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(read_response(sock)) == 200
    assert status_of(_trickle(sock, slow, 0.1)) == 408
    assert server.get()[0] == 200


def _post(path: str, headers: str, body: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n\r\n").encode() + body


def test_oversize_bodies_get_413(serve: Callable[..., Server]) -> None:
    server = serve(**SMALL)
    # Declared too large: refused before any of it is sent.
    sock = server.connect()
    sock.sendall(_post("/login", "Content-Length: 100000\r\n"
                                 "Content-Type: application/x-www-form-urlencoded"))
    answer = closed_by_server(sock)
    assert status_of(answer) == 413 and b"connection: close" in answer.lower()
    # Chunked, no length given: counted as it is read.
    chunk = b"email=" + b"a" * 1000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"
    sock = server.connect()
    sock.sendall(_post("/login", "Transfer-Encoding: chunked\r\n"
                                 "Content-Type: application/x-www-form-urlencoded", body))
    assert status_of(closed_by_server(sock)) == 413
    # A body within the limit reaches the log-in form (its CSRF check answers).
    sock = server.connect()
    form = b"email=a%40b.c&password=x&csrf_token=y"
    sock.sendall(_post("/login", f"Content-Length: {len(form)}\r\nConnection: close\r\n"
                                 "Content-Type: application/x-www-form-urlencoded", form))
    assert status_of(closed_by_server(sock)) == 403


def test_slow_bodies_are_cut_off(serve: Callable[..., Server]) -> None:
    server = serve(**SMALL)
    form = b"email=a%40b.c&password=" + b"p" * 200 + b"&csrf_token=y"
    sock = server.connect()
    sock.sendall(_post("/login", f"Content-Length: {len(form)}\r\n"
                                 "Content-Type: application/x-www-form-urlencoded"))
    answer = _trickle(sock, form, 0.1)
    assert status_of(answer) == 408 and b"connection: close" in answer.lower()
    # A body the app never reads: answered, then the connection is closed, not kept
    # open for the rest of the body.
    sock = server.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
    answer = closed_by_server(sock)
    assert status_of(answer) == 200 and b"connection: close" in answer.lower()
    assert server.get()[0] == 200


def test_requests_beyond_the_limit_get_503_until_some_finish(
        serve: Callable[..., Server]) -> None:
    server = serve(web_max_requests=2, web_body_timeout_s=60.0)
    with ExitStack() as stack:
        for _ in range(2):      # two requests in progress: their bodies are still coming
            held = stack.enter_context(server.connect())
            held.sendall(_post("/login", "Content-Length: 100\r\n"
                                         "Content-Type: application/x-www-form-urlencoded",
                               b"email="))
        answers = []
        for _ in range(50):     # the server may take a moment to read the held heads
            answers.append(server.get())
            if answers[-1][0] == 503:
                break
        assert answers[-1][0] == 503, answers
        assert answers[-1][1]["retry-after"] == "1"
    for _ in range(50):
        if server.get()[0] == 200:
            break
    else:
        raise AssertionError("still refused after the held requests ended")


def test_connections_beyond_the_limit_get_503(serve: Callable[..., Server]) -> None:
    # uvicorn's limit_concurrency: connections (idle ones and sockets included) 2 + 1.
    server = serve(web_max_connections=2, web_max_sockets=1)
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(server.connect()).sendall(b"GET /healthz HTTP/1.1\r\n")
        statuses = []
        for _ in range(50):
            statuses.append(server.get()[0])
            if statuses[-1] == 503:
                break
        assert statuses[-1] == 503, statuses
    for _ in range(50):
        if server.get()[0] == 200:
            break
    else:
        raise AssertionError("still refused after the connections closed")


def _token(settings: Settings, email: str) -> str:
    engine = create_engine(settings.postgres_url or "", pool_size=1)
    try:
        return create_token(engine, email, Role.ADMIN)[0]
    finally:
        engine.dispose()


def _socket(server: Server, token: str) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{server.port}/ws/tabs/problems?period=day", proxy=None,
                   additional_headers={"Authorization": f"Bearer {token}"},
                   open_timeout=TIMEOUT_S, close_timeout=5)


def _refused(server: Server, token: str) -> tuple[int, str]:
    """Open a socket that the server closes at once; its close code and reason."""
    with _socket(server, token) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=TIMEOUT_S)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_sockets_over_the_caps_are_refused_with_their_close_codes(
        serve: Callable[..., Server], settings: Settings) -> None:
    server = serve(web_max_sockets=3, web_max_sockets_per_session=2)
    first, second, third = (_token(settings, f"{n}@corp.io") for n in ("a", "b", "c"))
    with ExitStack() as stack:
        mine = [stack.enter_context(_socket(server, first)) for _ in range(2)]
        for ws in mine:
            assert '"problem_users"' in ws.recv(timeout=TIMEOUT_S)
        code, reason = _refused(server, first)
        assert (code, reason) == (4429, "this log-in already has 2 sockets open")
        other = stack.enter_context(_socket(server, second))
        assert '"problem_users"' in other.recv(timeout=TIMEOUT_S)
        assert _refused(server, third) == (1013, "too many sockets on this server; "
                                                 "try again later")
        for ws in [*mine, other]:       # the admitted ones are untouched
            assert ws.ping().wait(TIMEOUT_S)
        mine.pop().close()
        # A closed socket gives its place back (the server counts it down on its side).
        for _ in range(50):
            try:
                again = stack.enter_context(_socket(server, third))
                assert '"problem_users"' in again.recv(timeout=TIMEOUT_S)
                break
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1013
        else:
            raise AssertionError("the closed socket's place was never given back")
        # A client message over 16 KiB closes its socket (1009, message too big).
        mine[0].send("x" * 20000)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                mine[0].recv(timeout=TIMEOUT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_hsts_only_when_a_trusted_proxy_says_https(serve: Callable[..., Server]) -> None:
    proto = {"X-Forwarded-Proto": "https"}
    trusted = serve()               # trusts 127.0.0.1 (the default)
    assert trusted.get("/login", proto)[1]["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in trusted.get("/login")[1]
    untrusted = serve(web_forwarded_allow_ips="10.9.9.9")
    assert "strict-transport-security" not in untrusted.get("/login", proto)[1]
