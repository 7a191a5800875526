"""deploy/postgres/10-app-role.sh, the init script of the compose file's PostgreSQL, run
against a real server: the role it makes, not a superuser and owner of one schema only,
applies every migration there, its URL built from parts by the settings (the password,
quotes and all, percent-encoded)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg2.errors
import pytest
from sqlalchemy.engine import make_url

from harness.services import admin, query, unique, with_database
from insights import database, stack
from insights.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres" / "10-app-role.sh"
PASSWORD = "p@ss:w/rd#?%&'\" ü"


def _psql_dir() -> Path:
    try:
        from insights.stack import pgdata

        return Path(pgdata.binary("psql")).parent
    except ImportError:
        found = shutil.which("psql")
        if found is None:
            pytest.skip("no psql: neither the embedded extra nor a psql on PATH")
        return Path(found).parent


@pytest.fixture
def initialised(stack_urls: stack.StackUrls, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database set up as the postgres image does it: (its superuser URL, the role)."""
    name, role = unique("insights_role_"), unique("app_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    secret = tmp_path / "postgres_app_password"
    secret.write_text(PASSWORD + "\n")
    server = make_url(stack_urls.postgres_url)
    env = {"PATH": f"{_psql_dir()}:{os.environ['PATH']}", "POSTGRES_USER": server.username or "",
           "POSTGRES_DB": name, "PGHOST": server.host or "", "PGPORT": str(server.port),
           "PGPASSWORD": server.password or "", "APP_PASSWORD_FILE": str(secret),
           "APP_ROLE": role}
    done = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    try:
        yield with_database(stack_urls.postgres_url, name), role
    finally:
        admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(stack_urls.postgres_url, f'DROP ROLE IF EXISTS "{role}"')


def test_the_app_role_migrates_into_its_own_schema_and_no_further(
        initialised: tuple[str, str]) -> None:
    superuser_url, role = initialised
    server = make_url(superuser_url)
    settings = Settings(postgres_url=None, postgres_host=server.host,
                        postgres_port=server.port, postgres_db=server.database,
                        postgres_user=role, postgres_password=PASSWORD)
    assert settings.postgres_url is not None
    applied = database.upgrade(settings.postgres_url)
    assert applied[0] == "001_events"

    assert query(superuser_url, "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles"
                                " WHERE rolname = %s", role) == [(False, False, False)]
    owners = query(superuser_url, "SELECT DISTINCT n.nspname, pg_get_userbyid(c.relowner)"
                                  " FROM pg_class c JOIN pg_namespace n ON n.oid ="
                                  " c.relnamespace WHERE c.relname = 'page_views'"
                                  " OR c.relname = 'schema_migrations'")
    assert owners == [("insights", role)]
    conn = database.connect(settings.postgres_url)
    try:
        with conn.cursor() as cur:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("CREATE TABLE public.elsewhere (x int)")
            conn.rollback()
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(f'CREATE ROLE "{role}_more"')
    finally:
        conn.close()
