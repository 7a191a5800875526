"""PostgreSQL access: connections and the versioned migrations in ``insights/migrations/``.

Migrations are files ``NNN_name.sql`` shipped inside the package (read with
``importlib.resources``, so a wheel or an image has them too), applied in order, each in its own
transaction, recorded in ``schema_migrations`` with a checksum; concurrent
upgraders serialise on an advisory lock, so ``insights db upgrade`` is safe to
run from every process that starts.
"""

from __future__ import annotations

import hashlib
import logging
import re
import select
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, TypeAlias

import psycopg2
import psycopg2.extensions

log = logging.getLogger(__name__)

#: The package's migrations (package data: ``insights/migrations/NNN_name.sql``).
MIGRATIONS: Final[Traversable] = resources.files("insights") / "migrations"
_LOCK_ID = 0x1A51_6875  # advisory lock key of the migration runner
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

Connection: TypeAlias = psycopg2.extensions.connection


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (``'{...}'::type[]``): one value for the server to parse,
    much cheaper than psycopg2's ``ARRAY[...]`` of one parameter per element."""
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


#: SQLSTATE classes of errors a record's own values cause: data exception, integrity
#: violation, program limit exceeded (a value too large for an index row, ...).
REFUSED_CLASSES: Final = frozenset({"22", "23", "54"})


def refused_data(exc: psycopg2.Error) -> bool:
    """Whether PostgreSQL refused the values it was sent, as opposed to an outage (lost
    connection, timeout, deadlock, lack of resources) or a setup error (a missing table,
    privileges), after which the same values would be taken on a later try."""
    code = exc.pgcode
    return code is not None and code[:2] in REFUSED_CLASSES


def storable_text(text: str) -> str:
    """``text`` as PostgreSQL ``text`` can hold it: U+0000 and characters UTF-8 cannot
    encode (lone surrogates) written as escapes. For texts we compose (details, messages)
    that may quote what a hostile message carried."""
    cleaned = text.replace("\x00", "\\x00")
    try:
        cleaned.encode()
    except UnicodeEncodeError:
        cleaned = cleaned.encode("utf-8", "backslashreplace").decode()
    return cleaned


CONNECT_TIMEOUT_S: Final = 5


def connect(url: str, **options: Any) -> Connection:
    """A new psycopg2 connection in UTC with a short connect timeout."""
    options.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    conn: Connection = psycopg2.connect(url, options="-c timezone=UTC", **options)
    return conn


def cancel_on_interrupt() -> None:
    """Make this process's PostgreSQL calls interruptible: a Ctrl-C (SIGINT) cancels the
    query running, and ``KeyboardInterrupt`` is raised once the server has stopped it
    (psycopg2 then closes that connection: cleanup must not count on it). A second
    Ctrl-C, or a cancel request that fails, stops the wait at once.

    psycopg2 otherwise waits in C for a query's end before Python sees the signal: a
    rebuild's sums take seconds per million events. Process-wide (psycopg2's wait
    callback), for commands whose own process runs long queries; COPY cannot run in
    that mode, and libpq's ``connect_timeout`` is kept by the wait itself."""
    psycopg2.extensions.set_wait_callback(_interruptible_wait)


_CONNECTION_OK: Final = 0   # libpq's PQstatus once connected (``conn.info.status``)
_POLL_S: Final = 1.0        # how often a connection being made checks its deadline


def _interruptible_wait(conn: Connection) -> None:
    """Wait for ``conn``'s call (psycopg2's wait callback, see ``cancel_on_interrupt``)."""
    interrupted, deadline = False, None
    while True:
        try:
            state = conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                break
            if conn.info.status != _CONNECTION_OK:
                deadline = deadline or time.monotonic() + _connect_timeout(conn)
                if time.monotonic() > deadline:
                    raise psycopg2.OperationalError("timeout expired: no connection within "
                                                    f"{_connect_timeout(conn):g} s")
            reading = state == psycopg2.extensions.POLL_READ
            fd = [conn.fileno()]
            select.select(fd if reading else [], [] if reading else fd, [], _POLL_S)
        except KeyboardInterrupt:
            if interrupted or not _cancel(conn):
                raise
            interrupted = True       # the server ends the query, and answers with an error
    if interrupted:                  # raised for that error, or for a query that ended first
        raise KeyboardInterrupt


def _cancel(conn: Connection) -> bool:
    """Ask the server to cancel ``conn``'s query; whether the request went (not while
    connecting: there is no query yet)."""
    if conn.info.status != _CONNECTION_OK:
        return False
    try:
        conn.cancel()
    except psycopg2.Error:
        return False
    return True


def _connect_timeout(conn: Connection) -> float:
    """The connection's ``connect_timeout`` (s), as libpq reads it (0 or none: ours)."""
    given = conn.info.dsn_parameters.get("connect_timeout", "")
    try:
        seconds = float(given)
    except ValueError:
        return CONNECT_TIMEOUT_S
    return seconds if seconds > 0 else CONNECT_TIMEOUT_S


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    """The migration files are missing or badly named, or the database's recorded
    migrations disagree with them."""


def migrations(sql_dir: Traversable | Path | None = None) -> list[Migration]:
    """The migration files of ``sql_dir`` (default: the package's), in version order.

    Raises MigrationError when there are none: an install without its package data
    (a wheel built without them, an image copying the wrong files) must not report an
    empty database as up to date.
    """
    sql_dir = MIGRATIONS if sql_dir is None else sql_dir
    found = []
    for entry in sorted(_sql_files(sql_dir), key=lambda e: e.name):
        match = _NAME.match(entry.name)
        if not match:
            raise MigrationError(f"{entry.name}: migration files are named NNN_name.sql")
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    if not found:
        raise MigrationError(f"no migration files (NNN_name.sql) in {sql_dir}: this install"
                             " of insights is incomplete; reinstall the package")
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {sql_dir}")
    return found


def _sql_files(sql_dir: Traversable | Path) -> list[Traversable | Path]:
    """The ``*.sql`` entries of ``sql_dir``; none when it does not exist."""
    try:
        entries = list(sql_dir.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [e for e in entries if e.name.endswith(".sql") and e.is_file()]


def upgrade(url: str, sql_dir: Traversable | Path | None = None) -> list[str]:
    """Apply the pending migrations; returns the names applied (empty when up to date).

    The files are read first, so an install without them fails before touching the
    database (MigrationError)."""
    files = migrations(sql_dir)
    applied: list[str] = []
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        for migration in files:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            cur.execute("SELECT checksum FROM schema_migrations WHERE version = %s",
                        (migration.version,))
            row = cur.fetchone()
            if row is None:
                cur.execute(migration.sql)
                cur.execute("INSERT INTO schema_migrations (version, name, checksum)"
                            " VALUES (%s, %s, %s)",
                            (migration.version, migration.name, migration.checksum))
                applied.append(f"{migration.version:03d}_{migration.name}")
                log.info("applied migration %03d_%s", migration.version, migration.name)
            elif row[0] != migration.checksum:
                raise MigrationError(f"migration {migration.version:03d}_{migration.name} was "
                                     "changed after it was applied; add a new migration instead")
            conn.commit()
    conn.close()
    return applied
