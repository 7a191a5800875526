"""The embedded stack: Kafka-API broker (Tansu), PostgreSQL and Valkey on loopback.

Used when no server URLs are configured. The servers come from PyPI wheels, run
detached (they outlive the process that started them) and keep their data, logs
and pids under a state directory::

    STATE/stack.json        ports and pids (ports are stable across restarts)
    STATE/stack.lock        flock serialising up/down/start/stop
    STATE/<server>/log      each server's output
    STATE/postgres/data     the PostgreSQL cluster (survives down/up)

Kafka (Tansu) and Valkey keep their data in memory only: a restart starts empty.
"""

from insights.stack.base import StackError, require_embedded
from insights.stack.launcher import (
    SERVERS,
    StackUrls,
    down,
    start_server,
    status,
    stop_server,
    up,
    urls,
)

__all__ = [
    "SERVERS",
    "StackError",
    "StackUrls",
    "down",
    "require_embedded",
    "start_server",
    "status",
    "stop_server",
    "up",
    "urls",
]
