"""``insights import --from-db``: a database shaped like the reference application's,
mapped to contract events and produced through the real broker; what cannot be mapped
is reported and kept; a second run adds nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from consumers.pipeline import Pipeline
from harness.reference.shape import copy_site
from harness.services import admin, environment, query, scalar, unique, with_database
from insights import stack
from insights.database import connect
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.read_model import assert_reads_as_reference, simulate, wait_ingested

SCHEMA = """
CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, role text, is_active boolean,
    created_at timestamp, company text, failed_login_attempts int, locked_until timestamp,
    last_login timestamp);
CREATE TABLE user_sessions (id bigint PRIMARY KEY, user_id bigint, started_at timestamp,
    device_type text, browser text, duration_seconds int, clicks_count int);
CREATE TABLE page_views (id bigint PRIMARY KEY, session_id bigint, user_id bigint, path text,
    viewed_at timestamp, load_time_ms int, time_on_page_seconds int, scroll_depth_percent int);
CREATE TABLE js_errors (id bigint PRIMARY KEY, session_id bigint, occurred_at timestamp,
    message text);
CREATE TABLE security_alerts (id bigint PRIMARY KEY, user_email text, alert_type text,
    severity text, created_at timestamp);
CREATE TABLE email_logs (id bigint PRIMARY KEY, user_id bigint, email_type text,
    created_at timestamp);
CREATE TABLE search_queries (id bigint PRIMARY KEY, user_id bigint, query text,
    searched_at timestamp);
CREATE TABLE conversion_events (id bigint PRIMARY KEY, user_id bigint, event_type text,
    converted_at timestamp);
"""


@pytest.fixture
def site_db(stack_urls: stack.StackUrls) -> Iterator[str]:
    """The reference application's tables, with a little history (times naive, in UTC)."""
    name = unique("reference_site_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    url = with_database(stack_urls.postgres_url, name)
    day = (datetime.now(UTC) - timedelta(days=3)).replace(tzinfo=None, microsecond=0)
    later = day + timedelta(days=30)
    conn = connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(SCHEMA)
        cur.execute("INSERT INTO users VALUES (1, 'ann@example.com', 'Ann', 'MEMBER', true, %s,"
                    " 'Acme', 3, %s, %s), (2, NULL, 'No Mail', 'MEMBER', true, %s, NULL, 0,"
                    " NULL, NULL)", (day, later, day + timedelta(hours=1), day))
        cur.execute("INSERT INTO user_sessions VALUES (10, 1, %s, 'desktop', 'Firefox', 120, 4),"
                    " (11, 1, %s, 'toaster', NULL, NULL, NULL)",
                    (day + timedelta(hours=1), day + timedelta(hours=2)))
        cur.execute("INSERT INTO page_views VALUES (100, 10, 1, '/forum', %s, 3500, 30, 80),"
                    " (101, 10, 1, '/pricing', %s, 200, NULL, NULL)",
                    (day + timedelta(hours=1, minutes=1), day + timedelta(hours=1, minutes=2)))
        cur.execute("INSERT INTO js_errors VALUES (1000, 10, %s, 'TypeError: x'),"
                    " (1001, NULL, %s, 'orphan')", (day + timedelta(hours=1), day))
        cur.execute("INSERT INTO security_alerts VALUES (7, 'ann@example.com', 'brute_force',"
                    " 'high', %s)", (day,))
        cur.execute("INSERT INTO email_logs VALUES (20, 1, 'password_reset', %s),"
                    " (21, 1, 'welcome', %s)", (day, day))
        cur.execute("INSERT INTO search_queries VALUES (30, 1, 'biuro', %s)", (day,))
        cur.execute("INSERT INTO conversion_events VALUES (40, 1, 'registration', %s)", (day,))
    conn.close()
    yield url
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "insights", "import", *args],
                          env=environment(settings), capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_reference_database_becomes_events_once_and_the_rest_is_reported(
        settings: Settings, site_db: str, run_pipeline: Callable[[Settings], Pipeline],
        tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.jsonl"
    run_pipeline(settings)
    done = _run(settings, "--from-db", site_db, "--rejects", str(rejects))
    # users: upsert + login + 3 failures + lock; sessions: 2 starts + 1 end; views: 2 + a
    # leave; 1 error, 1 alert, 1 reset, 1 search, 1 conversion.
    produced = 6 + 3 + 3 + 5
    assert done.returncode == 1 and f"{produced} events produced" in done.stderr, done.stderr
    refused = {(r["source"], r["line"], r["detail"][:20])
               for r in map(msgspec.json.decode, rejects.read_bytes().splitlines())}
    assert refused == {("public.users", 2, "no e-mail (a user_up"),
                       ("public.js_errors", 1001, "no session (a js_err"),
                       ("public.email_logs", 21, "e-mail type 'welcome")}
    wait_ingested(settings, produced)
    url = settings.postgres_url or ""
    assert query(url, "SELECT email, failed_login_attempts, locked_until > now(),"
                      " last_login IS NOT NULL FROM users WHERE id = 1") == [
        ("ann@example.com", 3, True, True)]
    assert query(url, "SELECT session_id, device_type, duration_seconds, clicks_count"
                      " FROM user_sessions ORDER BY session_id") == [
        ("10", "desktop", 120, 4), ("11", None, None, None)]
    assert query(url, "SELECT pageview_id, time_on_page_seconds FROM page_views"
                      " ORDER BY pageview_id") == [("100", 30), ("101", None)]
    assert scalar(url, "SELECT count(*) FROM rejected_events") == 0

    again = _run(settings, "--from-db", site_db, "--rejects", str(rejects))
    assert again.returncode == 1, again.stderr
    wait_ingested(settings, 2 * produced)
    assert scalar(url, "SELECT count(*) FROM event_ledger") == produced


def test_a_database_that_is_not_the_references_is_refused_by_name(
        settings: Settings, database_url: str) -> None:
    found = _run(settings, "--from-db", database_url, "--dry-run")
    assert found.returncode == 2
    assert "not the reference application's database" in found.stderr, found.stderr


def test_an_imported_site_reads_as_the_sql_reference_reads_it(
        settings: Settings, emitter: Emitter, stack_urls: stack.StackUrls,
        template_database: str, run_pipeline: Callable[..., Pipeline]) -> None:
    now = datetime.now(UTC)
    run_pipeline(settings, clock=lambda: now)   # read at now (tests.read_model)
    wait_ingested(settings, simulate(emitter, now, users=25, days=6, seed=9))
    site = unique("reference_copy_")
    fresh = unique("insights_imported_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{site}"')
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{fresh}" TEMPLATE "{template_database}"')
    try:
        copy_site(settings.postgres_url or "", with_database(stack_urls.postgres_url, site))
        imported = settings.model_copy(update={
            "postgres_url": with_database(stack_urls.postgres_url, fresh),
            "topic_prefix": unique("t") + ".", "consumer_group": unique("g"),
            "redis_prefix": unique("r")})
        run_pipeline(imported, clock=lambda: now)
        done = _run(imported, "--from-db", with_database(stack_urls.postgres_url, site))
        assert done.returncode == 0, done.stderr
        produced = int(done.stderr.split(" events produced")[0].split()[-1].replace(",", ""))
        assert produced > 500
        wait_ingested(imported, produced)
        assert_reads_as_reference(imported, now, users=20)
    finally:
        for name in (site, fresh):
            admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
