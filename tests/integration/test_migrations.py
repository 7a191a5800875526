"""``insights db upgrade``: applies pending migrations once, refuses edited ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services import admin, query, unique, with_database
from insights import database, stack


@pytest.fixture
def empty_database(stack_urls: stack.StackUrls) -> Iterator[str]:
    name = unique("insights_empty_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    yield with_database(stack_urls.postgres_url, name)
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_applies_each_migration_once(empty_database: str) -> None:
    names = [f"{m.version:03d}_{m.name}" for m in database.migrations()]
    assert database.upgrade(empty_database) == names
    assert database.upgrade(empty_database) == []
    assert [r[0] for r in query(empty_database, "SELECT version FROM schema_migrations")] == [
        m.version for m in database.migrations()]


def test_an_edited_migration_is_refused(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text("CREATE TABLE a (x int);")
    database.upgrade(empty_database, tmp_path)
    (tmp_path / "001_first.sql").write_text("CREATE TABLE a (x bigint);")
    with pytest.raises(database.MigrationError, match="changed after it was applied"):
        database.upgrade(empty_database, tmp_path)


def test_badly_named_migration_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "first.sql").write_text("SELECT 1;")
    with pytest.raises(database.MigrationError, match=r"NNN_name\.sql"):
        database.migrations(tmp_path)
