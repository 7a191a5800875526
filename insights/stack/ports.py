"""Loopback TCP ports: free, listening, answering; picking stable ones."""

from __future__ import annotations

import random
import socket
from collections.abc import Collection
from pathlib import Path

HOST = "127.0.0.1"


def port_accepts(port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on loopback ``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(port: int) -> bool:
    """True if a server could bind loopback ``port`` now (SO_REUSEADDR, as servers do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def pick_port(exclude: Collection[int] = ()) -> int:
    """A free loopback port, preferably below the ephemeral range.

    Ports the kernel hands out to outgoing connections could be taken while a
    server is briefly down, so try ports just below that range first.
    """
    low = _ephemeral_low()
    if low > 21000:
        for port in random.sample(range(20000, low), 200):
            if port not in exclude and port_free(port):
                return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in exclude:
            return port


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_listening(port: int) -> bool:
    """True if a TCP socket listens on ``port`` (IPv4), checked without connecting.

    Connecting would make PostgreSQL log "incomplete startup packet" on every
    status check; reading ``/proc/net/tcp`` has no side effect. Falls back to
    connecting where there is no ``/proc``.
    """
    try:
        table = Path("/proc/net/tcp").read_text()
    except OSError:
        return port_accepts(port)
    suffix = f":{port:04X}"
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[1].endswith(suffix) and fields[3] == "0A":
            return True
    return False
