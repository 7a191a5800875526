"""``insights db upgrade``: applies pending migrations once, refuses edited ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services import admin, query, unique, with_database
from insights import database, stack
from insights.readmodel.recount import refill_day_counts


@pytest.fixture
def empty_database(stack_urls: stack.StackUrls) -> Iterator[str]:
    name = unique("insights_empty_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    yield with_database(stack_urls.postgres_url, name)
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: What the package ships, written out rather than asked of the function under test: a
#: migration lost from the package data fails here. Add each new migration's name.
SHIPPED = ["001_events", "002_accounts", "003_web_sessions", "004_token_expiry",
           "005_read_models", "006_alerts", "007_user_day_counts", "008_monthly_partitions",
           "009_user_search"]


def test_upgrade_applies_each_migration_once(empty_database: str) -> None:
    assert database.upgrade(empty_database) == SHIPPED
    assert database.upgrade(empty_database) == []
    assert [r[0] for r in query(empty_database, "SELECT version FROM schema_migrations"
                                                " ORDER BY version")] == [
        int(name[:3]) for name in SHIPPED]


def test_no_migration_files_is_refused_before_the_database_is_touched(
        empty_database: str, tmp_path: Path) -> None:
    with pytest.raises(database.MigrationError, match="no migration files"):
        database.upgrade(empty_database, tmp_path / "missing")
    assert query(empty_database, "SELECT to_regclass('schema_migrations')") == [(None,)]


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


def _upgrade_below(version: str, url: str, sql_dir: Path) -> None:
    """Apply the migrations before ``version`` (copied into ``sql_dir``)."""
    for migration in database.migrations():
        if f"{migration.version:03d}" < version:
            _copy(migration.version, sql_dir)
    database.upgrade(url, sql_dir)


def _copy(version: int, sql_dir: Path) -> None:
    """The shipped migration ``version`` written into ``sql_dir``."""
    (migration,) = (m for m in database.migrations() if m.version == version)
    (sql_dir / f"{version:03d}_{migration.name}.sql").write_text(migration.sql)


def test_the_day_counts_migration_counts_what_the_event_tables_hold(
        empty_database: str, tmp_path: Path) -> None:
    _upgrade_below("007", empty_database, tmp_path)
    late, next_day = "2026-12-06 23:59:59+00", "2026-12-07 00:00:00+00"
    conn = database.connect(empty_database)
    with conn, conn.cursor() as cur:
        for n, (user, at, load) in enumerate([(7, late, 3001), (7, late, None), (7, late, 3000),
                                              (7, next_day, 5000), (None, late, 9000)]):
            cur.execute("INSERT INTO page_views (event_id, pageview_id, user_id, path, viewed_at,"
                        " load_time_ms, raw) VALUES (%s, %s, %s, '/', %s, %s, '{}')",
                        (f"pv{n}", f"pv{n}", user, at, load))
        cur.execute("INSERT INTO conversion_events (event_id, user_id, event_type, converted_at,"
                    " raw) VALUES ('c1', 8, 'registration', %s, '{}'), ('c2', NULL, 'x', %s, '{}')",
                    (late, late))
        cur.execute("INSERT INTO search_queries (event_id, user_id, query, searched_at, raw)"
                    " VALUES ('q1', 8, 'biuro', %s, '{}')", (next_day,))
        cur.execute("INSERT INTO email_logs (event_id, user_id, email_type, created_at, raw)"
                    " VALUES ('e1', 8, 'password_reset', %s, '{}'), ('e2', 8, 'welcome', %s, '{}')",
                    (late, late))
    conn.close()
    _copy(7, tmp_path)
    assert database.upgrade(empty_database, tmp_path) == ["007_user_day_counts"]
    day = 20793                                        # 2026-12-06, days since 1970-01-01
    assert sorted(query(empty_database, "SELECT user_id, day, pv, sp, cv, sq, pr"
                                        " FROM user_day_counts")) == [
        (7, day, 3, 1, 0, 0, 0), (7, day + 1, 1, 1, 0, 0, 0),
        (8, day, 0, 0, 1, 0, 1), (8, day + 1, 0, 0, 0, 1, 0)]
    migrated = sorted(query(empty_database, "SELECT * FROM user_day_counts"))
    conn = database.connect(empty_database)
    with conn:
        refill_day_counts(conn)                        # the same count, from Python
    conn.close()
    assert sorted(query(empty_database, "SELECT * FROM user_day_counts")) == migrated


def test_the_partitions_migration_keeps_every_row_in_its_month(
        empty_database: str, tmp_path: Path) -> None:
    _upgrade_below("008", empty_database, tmp_path)
    conn = database.connect(empty_database)
    with conn, conn.cursor() as cur:
        for n, at in enumerate(["2025-01-31 23:59:59+00", "2025-02-01 00:00:00+00",
                                "2026-12-06 12:00:00+00"]):
            cur.execute("INSERT INTO page_views (event_id, pageview_id, user_id, path, viewed_at,"
                        " raw) VALUES (%s, %s, 7, '/', %s, '{}')", (f"pv{n}", f"PV{n}", at))
            cur.execute("INSERT INTO state_events (event_id, type, user_id, ts, raw)"
                        " VALUES (%s, 'login_succeeded', 7, %s, '{}')", (f"st{n}", at))
    conn.close()
    _copy(8, tmp_path)
    assert database.upgrade(empty_database, tmp_path) == ["008_monthly_partitions"]
    assert sorted(query(empty_database, "SELECT tableoid::regclass::text, event_id"
                                        " FROM page_views")) == [
        ("page_views_y2025m01", "pv0"), ("page_views_y2025m02", "pv1"),
        ("page_views_y2026m12", "pv2")]
    assert sorted(query(empty_database, "SELECT tableoid::regclass::text FROM state_events")
                  ) == [("state_events_y2025m01",), ("state_events_y2025m02",),
                        ("state_events_y2026m12",)]
    assert sorted(query(empty_database, "SELECT pageview_id FROM pageview_ids")) == [
        ("PV0",), ("PV1",), ("PV2",)]
    assert query(empty_database, "SELECT first_day FROM retention_cutoff") == [(None,)]


def test_a_months_partition_takes_its_rows_from_the_default_partition(
        database_url: str) -> None:
    conn = database.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO js_errors (event_id, session_id, message, occurred_at, raw)"
                    " VALUES ('e1', 'S', 'boom', '2024-03-15', '{}')")
        cur.execute("SELECT tableoid::regclass::text FROM js_errors")
        assert cur.fetchall() == [("js_errors_default",)]
        cur.execute("SELECT event_month_partitions('2024-03-20')")
        assert cur.fetchone() == (7,)                   # every partitioned table's March
        cur.execute("SELECT event_month_partitions('2024-03-01')")
        assert cur.fetchone() == (0,)                   # made already: nothing to do
        cur.execute("SELECT tableoid::regclass::text FROM js_errors")
        assert cur.fetchall() == [("js_errors_y2024m03",)]
    conn.close()
