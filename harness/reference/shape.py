"""Our event tables copied into the shape of the reference application's database (the
tables and columns its code reads), for the import's tests and benchmark."""

from __future__ import annotations

from contextlib import closing

import psycopg2.extras

from insights.database import connect

# A simulated site's tables copied into the reference's shape: (table, its columns, ours).
COPIES = (
    ("users", "id, email, name, role, is_active, created_at, company, failed_login_attempts,"
              " locked_until, last_login", "users WHERE upserted_at IS NOT NULL"),
    ("user_sessions", "session_id, user_id, started_at, device_type, browser,"
                      " duration_seconds, clicks_count, ended_at", "user_sessions"),
    ("page_views", "pageview_id, session_id, user_id, path, viewed_at, load_time_ms,"
                   " time_on_page_seconds, scroll_depth_percent", "page_views"),
    ("js_errors", "event_id, session_id, user_id, occurred_at, message, source, line",
     "js_errors"),
    ("security_alerts", "event_id, user_email, alert_type, severity, user_id, created_at",
     "security_alerts"),
    ("email_logs", "event_id, user_id, email_type, created_at", "email_logs"),
    ("search_queries", "event_id, user_id, session_id, query, searched_at", "search_queries"),
    ("conversion_events", "event_id, user_id, session_id, event_type, converted_at",
     "conversion_events"),
)
SHAPE = """
CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, role text, is_active boolean,
    created_at timestamptz, company text, failed_login_attempts int, locked_until timestamptz,
    last_login timestamptz);
CREATE TABLE user_sessions (id text PRIMARY KEY, user_id bigint, started_at timestamptz,
    device_type text, browser text, duration_seconds int, clicks_count int,
    ended_at timestamptz);
CREATE TABLE page_views (id text PRIMARY KEY, session_id text, user_id bigint, path text,
    viewed_at timestamptz, load_time_ms int, time_on_page_seconds int,
    scroll_depth_percent int);
CREATE TABLE js_errors (id text PRIMARY KEY, session_id text, user_id bigint,
    occurred_at timestamptz, message text, source text, line int);
CREATE TABLE security_alerts (id text PRIMARY KEY, user_email text, alert_type text,
    severity text, user_id bigint, created_at timestamptz);
CREATE TABLE email_logs (id text PRIMARY KEY, user_id bigint, email_type text,
    created_at timestamptz);
CREATE TABLE search_queries (id text PRIMARY KEY, user_id bigint, session_id text, query text,
    searched_at timestamptz);
CREATE TABLE conversion_events (id text PRIMARY KEY, user_id bigint, session_id text,
    event_type text, converted_at timestamptz);
"""


def copy_site(source: str, target: str) -> None:
    """``source``'s event tables into ``target`` in the reference's shape."""
    with closing(connect(source)) as src, closing(connect(target)) as dst:
        with dst.cursor() as out:
            out.execute(SHAPE)
            for table, names, ours in COPIES:
                with src.cursor() as cur:
                    cur.execute(f"SELECT {names} FROM {ours}")
                    rows = cur.fetchall()
                psycopg2.extras.execute_values(out, f"INSERT INTO {table} VALUES %s", rows)
        dst.commit()
