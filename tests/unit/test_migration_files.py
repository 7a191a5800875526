"""The migrations ship inside the package, and none found is a loud refusal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from insights import database
from insights.cli.app import main


def test_the_migrations_are_package_data() -> None:
    # Read through importlib.resources from insights/migrations, not from the checkout's root.
    assert database.MIGRATIONS.name == "migrations"
    assert [m.version for m in database.migrations()][:2] == [1, 2]


@pytest.mark.parametrize("where", ["empty", "missing"])
def test_no_migration_files_is_an_error(tmp_path: Path, where: str) -> None:
    folder = tmp_path / "sql"
    if where == "empty":
        folder.mkdir()
        (folder / "README").write_text("not a migration")
    with pytest.raises(database.MigrationError, match="no migration files"):
        database.migrations(folder)


def test_db_upgrade_without_migrations_exits_1_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # Configured URLs, so no embedded stack starts; nothing listens there, and nothing
    # needs to: the files are read before connecting.
    monkeypatch.setenv("INSIGHTS_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("INSIGHTS_POSTGRES_URL", "postgresql://x@127.0.0.1:9/x")
    monkeypatch.setenv("INSIGHTS_REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setattr(database, "MIGRATIONS", tmp_path / "nothing")
    monkeypatch.setattr(sys, "argv", ["insights", "db", "upgrade"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "no migration files" in err
    assert "up to date" not in err
