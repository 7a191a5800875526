"""``GET /api/users/{id}`` over a real PostgreSQL: every field against hand-worked values.

Now is 2026-03-15 12:00 UTC: the week window starts 2026-03-08 00:00, the month
window 2026-02-13 00:00, the 30-day trend on 2026-02-14. User 7 (Ann) has rows
inside and outside each window, and there are rows of others that must not count.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness.services import unique
from insights import stack
from insights.database import connect
from insights.settings import Settings
from tests.read_model import count_in_redis
from web.app import create_app
from web.auth.accounts import Role, create_token
from web.documents.schema import TabDocument
from web.engine import create_engine
from web.reader import Filter, Tab

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _insert(cur: Any, table: str, **values: Any) -> None:
    if table != "users":
        values = {"event_id": f"ev{next(_ids)}", "raw": "{}", **values}
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    cur.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))


_SESSION = ("session_id", "user_id", "started_at", "device_type", "browser",
            "duration_seconds", "clicks_count")
_VIEW = ("session_id", "user_id", "path", "viewed_at", "load_time_ms")
_ERROR = ("session_id", "user_id", "message", "source", "line", "occurred_at")


def _rows(cur: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (times as naive ISO strings, read as UTC) into ``table``."""
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        for column in ("started_at", "viewed_at", "occurred_at"):
            if column in values:
                values[column] = at(values[column])
        if table == "page_views":
            values["pageview_id"] = f"pv{next(_ids)}"
        _insert(cur, table, **values)


def _seed(url: str) -> None:
    conn = connect(url)
    with conn, conn.cursor() as cur:
        _insert(cur, "users", id=7, email="ann@example.com", name="Ann", role="MEMBER",
                company="Acme", created_at=at("2026-01-04T00:00:00"),
                failed_login_attempts=2, locked_until=at("2026-03-15T13:00:00"),
                last_login=at("2026-03-14T09:00:00"), upserted_at=NOW)
        # A login came before the user's upsert: a stub, not a tracked user.
        _insert(cur, "users", id=8, failed_login_attempts=1, upserted_at=None)
        _rows(cur, "user_sessions", _SESSION, [
            ("s1", 7, "2026-03-14T09:00:00", "desktop", "Firefox", 120, 4),
            ("s2", 7, "2026-03-10T22:30:00", "mobile", "Chrome", 61, 3),
            ("s3", 7, "2026-02-20T09:15:00", "desktop", None, None, None),  # no session_end
            ("s4", 7, "2026-01-10T10:00:00", "tablet", "Safari", 300, 10),
            ("s5", 7, "2026-02-13T00:00:00", None, "Firefox", 8, 1),  # the month's first instant
            ("s6", 7, "2026-02-12T23:59:59", "desktop", "Firefox", None, None),  # just before
            ("a1", None, "2026-03-12T10:00:00", "desktop", "Firefox", 50, 2),
            ("o1", 9, "2026-03-14T10:00:00", "desktop", "Edge", 500, 50),
        ])
        _rows(cur, "page_views", _VIEW, [
            ("s1", 7, "/forum/topic-1", "2026-03-14T09:01:00", 3500),
            ("s1", 7, "/company/acme", "2026-03-14T09:05:00", 200),
            ("s2", 7, "/pricing", "2026-03-10T22:31:00", 4000),
            ("s3", 7, "/forum/topic-1", "2026-02-20T09:16:00", 5000),
            ("s4", 7, "/forum/topic-1", "2026-01-10T10:01:00", None),
            (None, 7, "/forumx", "2026-03-13T08:00:00", 3000),  # 3000 ms is not slow
            ("a1", None, "/forum", "2026-03-12T10:01:00", 9000),
            ("o1", 9, "/forum", "2026-03-14T10:01:00", 9000),
        ])
        _rows(cur, "js_errors", _ERROR, [
            ("s1", 7, "TypeError: a", "app.js", 10, "2026-03-14T09:02:00"),
            ("s2", None, "TypeError: c", "vendor.js", 3, "2026-03-10T22:32:00"),
            ("s3", 7, "ReferenceError: b", None, None, "2026-02-20T09:17:00"),
            # Before its session's first view: no page.
            ("s4", 7, "Early error", None, None, "2026-01-10T10:00:30"),
            # The error says user 7 but its session is anonymous: not Ann's (semantics 8).
            ("a1", 7, "Anonymous error", "app.js", 1, "2026-03-12T10:02:00"),
            ("o1", 9, "Other's error", "app.js", 1, "2026-03-14T10:02:00"),
        ])
        for email, kind, severity, created in [
                ("ann@example.com", "brute_force", "high", "2026-03-13T07:00:00"),
                ("ANN@example.com", "brute_force", "high", "2026-03-13T07:30:00"),
                ("ann@example.com", "suspicious_ip", None, "2026-02-25T07:00:00"),
                ("other@example.com", "brute_force", "low", "2026-03-14T07:00:00")]:
            _insert(cur, "security_alerts", user_email=email, alert_type=kind,
                    severity=severity, created_at=at(created))
        for user, kind, created in [(7, "password_reset", "2026-03-01T12:00:00"),
                                    (7, "password_reset", "2026-01-20T12:00:00"),
                                    (7, "welcome", "2026-03-02T12:00:00"),
                                    (9, "password_reset", "2026-03-03T12:00:00")]:
            _insert(cur, "email_logs", user_id=user, email_type=kind, created_at=at(created))
        _insert(cur, "search_queries", user_id=7, session_id="s2", query="biuro rachunkowe",
                searched_at=at("2026-03-11T08:00:00"))
        _insert(cur, "search_queries", user_id=9, session_id="o1", query="other",
                searched_at=at("2026-03-14T10:03:00"))
        _insert(cur, "conversion_events", user_id=7, session_id="s2", event_type="registration",
                converted_at=at("2026-03-11T08:05:00"))
    conn.close()


@pytest.fixture
def clock() -> list[datetime]:
    """The app's "now"; a test may move it."""
    return [NOW]


@pytest.fixture
def client(database_url: str, stack_urls: stack.StackUrls, clock: list[datetime]
           ) -> Iterator[TestClient]:
    _seed(database_url)
    prefix = unique("profile")
    count_in_redis(stack_urls.redis_url, database_url, prefix, NOW)
    engine = create_engine(database_url, pool_size=1)
    token = create_token(engine, "om@corp.io", Role.OFFICE_MANAGER)[0]
    engine.dispose()
    settings = Settings(postgres_url=database_url, redis_url=stack_urls.redis_url,
                        redis_prefix=prefix)
    app = create_app(settings, tab_reader=_NoTabs(), clock=lambda: clock[0])
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


class _NoTabs:
    """The profile does not read tabs; this reader fails the test if it is called."""

    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        raise AssertionError(f"the profile route read the {tab} tab")


@pytest.fixture
def profile(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/users/7")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_user_fields(profile: dict[str, Any]) -> None:
    assert profile["user"] == {
        "id": 7, "name": "Ann", "email": "ann@example.com", "role": "MEMBER",
        "company": "Acme", "created_at": "2026-01-04T00:00:00Z",
        "last_login": "2026-03-14T09:00:00Z", "is_active": True,
        "locked_until": "2026-03-15T13:00:00Z", "failed_login_attempts": 2,
    }


def test_engagement_score_over_the_month_window(profile: dict[str, Any]) -> None:
    # s1, s2, s3, s5; views of s1 (2), s2, s3 and /forumx; clicks 4+3+1; 120+61+8 s.
    counts = {c["name"]: c["count"] for c in profile["engagement_components"]}
    assert counts == {"sessions": 4, "page_views": 5, "clicks": 8, "seconds": 189,
                      "conversions": 1, "searches": 1}
    # 12 + 5 + 4 + 189/60*2 (6.3) + 10 + 2 = 39.3
    assert sum(c["points"] for c in profile["engagement_components"]) == pytest.approx(39.3)
    assert profile["engagement_score"] == 39


def test_problem_score_windows_and_lock(profile: dict[str, Any]) -> None:
    counts = {c["name"]: c["count"] for c in profile["problem_components"]}
    # js errors of s1 and s2 this week (not s3's, older; not the anonymous one);
    # slow: /forum/topic-1 3500 ms and /pricing 4000 ms; one alert by exact e-mail.
    assert counts == {"failed_logins": 2, "password_resets": 1, "js_errors": 2,
                      "slow_pages": 2, "security_alerts": 1, "is_locked": 1}
    points = {c["name"]: c["points"] for c in profile["problem_components"]}
    assert points == {"failed_logins": 20, "password_resets": 15, "js_errors": 6,
                      "slow_pages": 4, "security_alerts": 20, "is_locked": 40}
    assert profile["problem_score"] == 100  # 105, capped
    assert profile["password_resets"] == 1
    assert profile["security_alerts_count"] == 1


def test_the_lock_ends_when_locked_until_passes(client: TestClient, clock: list[datetime]
                                                ) -> None:
    clock[0] = NOW + timedelta(hours=1, seconds=1)
    body = client.get("/api/users/7").json()
    assert {c["name"]: c["count"] for c in body["problem_components"]}["is_locked"] == 0
    assert body["problem_score"] == 65


def test_timeline_merges_kinds_newest_first(profile: dict[str, Any]) -> None:
    assert [(item["time"], item["type"], item["icon"], item["desc"])
            for item in profile["timeline"]] == [
        ("2026-03-14T09:05:00Z", "pageview", "eye", "Visited: /company/acme"),
        ("2026-03-14T09:01:00Z", "pageview", "eye", "Visited: /forum/topic-1"),
        ("2026-03-14T09:00:00Z", "login", "key", "Session (desktop, Firefox)"),
        ("2026-03-13T07:00:00Z", "problem", "shield", "Alert: brute_force (high)"),
        ("2026-03-11T08:05:00Z", "conversion", "check", "Conversion: registration"),
        ("2026-03-11T08:00:00Z", "search", "search", 'Searched: "biuro rachunkowe"'),
        ("2026-03-10T22:30:00Z", "login", "key", "Session (mobile, Chrome)"),
        ("2026-03-01T12:00:00Z", "problem", "alert", "Password reset"),
        ("2026-02-25T07:00:00Z", "problem", "shield", "Alert: suspicious_ip (?)"),
        ("2026-02-20T09:16:00Z", "pageview", "eye", "Visited: /forum/topic-1"),
        ("2026-02-20T09:15:00Z", "login", "key", "Session (desktop, ?)"),
        ("2026-02-13T00:00:00Z", "login", "key", "Session (?, Firefox)"),
        ("2026-02-12T23:59:59Z", "login", "key", "Session (desktop, Firefox)"),
        ("2026-01-20T12:00:00Z", "problem", "alert", "Password reset"),
        ("2026-01-10T10:01:00Z", "pageview", "eye", "Visited: /forum/topic-1"),
        ("2026-01-10T10:00:00Z", "login", "key", "Session (tablet, Safari)"),
    ]
    # Each item of a session names it (a JS error links to them); resets and alerts none.
    sessions = [item["session_id"] for item in profile["timeline"]]
    assert sessions[:3] == ["s1", "s1", "s1"] and sessions[-2:] == ["s4", "s4"]
    assert [s for item, s in zip(profile["timeline"], sessions, strict=True)
            if item["type"] == "problem"] == [None] * 4


def test_month_activity(profile: dict[str, Any]) -> None:
    assert profile["fav_pages"] == [
        {"path": "/forum/topic-1", "count": 2, "bar_pct": 100},
        {"path": "/company/acme", "count": 1, "bar_pct": 50},
        {"path": "/forumx", "count": 1, "bar_pct": 50},
        {"path": "/pricing", "count": 1, "bar_pct": 50},
    ]
    assert profile["devices"] == [{"type": "desktop", "count": 2},
                                  {"type": "mobile", "count": 1},
                                  {"type": "unknown", "count": 1}]
    assert profile["browsers"] == [{"name": "Firefox", "count": 2},
                                   {"name": "Chrome", "count": 1},
                                   {"name": "unknown", "count": 1}]
    busy = {0: (1, 50), 9: (2, 100), 22: (1, 50)}
    assert profile["hourly_bars"] == [
        {"hour": h, "count": busy.get(h, (0, 0))[0], "pct": busy.get(h, (0, 0))[1]}
        for h in range(24)]


def test_trend_is_the_last_30_days(profile: dict[str, Any]) -> None:
    labels = [(datetime(2026, 2, 14) + timedelta(days=i)).strftime("%Y-%m-%d")
              for i in range(30)]
    assert profile["trend_data"]["labels"] == labels
    # 03-14: 1 session + 2 views; 03-13: 1 view; 03-10 and 02-20: 1 session + 1 view.
    points = {"2026-03-14": 5, "2026-03-13": 1, "2026-03-10": 4, "2026-02-20": 4}
    assert profile["trend_data"]["scores"] == [points.get(label, 0) for label in labels]


def test_history_lists(profile: dict[str, Any]) -> None:
    # Each with its session, and the page: the session's last view at or before it.
    assert profile["js_errors"] == [
        {"message": "TypeError: a", "source": "app.js", "line": 10,
         "occurred_at": "2026-03-14T09:02:00Z", "session_id": "s1", "page": "/forum/topic-1"},
        {"message": "TypeError: c", "source": "vendor.js", "line": 3,
         "occurred_at": "2026-03-10T22:32:00Z", "session_id": "s2", "page": "/pricing"},
        {"message": "ReferenceError: b", "source": None, "line": None,
         "occurred_at": "2026-02-20T09:17:00Z", "session_id": "s3", "page": "/forum/topic-1"},
        {"message": "Early error", "source": None, "line": None,
         "occurred_at": "2026-01-10T10:00:30Z", "session_id": "s4", "page": None},
    ]
    assert profile["slow_pages"] == [
        {"path": "/forum/topic-1", "load_time_ms": 3500, "viewed_at": "2026-03-14T09:01:00Z"},
        {"path": "/pricing", "load_time_ms": 4000, "viewed_at": "2026-03-10T22:31:00Z"},
        {"path": "/forum/topic-1", "load_time_ms": 5000, "viewed_at": "2026-02-20T09:16:00Z"},
    ]
    assert profile["search_queries"] == [
        {"query": "biuro rachunkowe", "searched_at": "2026-03-11T08:00:00Z"}]


def test_averages(profile: dict[str, Any]) -> None:
    # 6 sessions over 70 days (10 weeks) since 2026-01-04.
    assert profile["avg_sessions_week"] == 0.6
    # Known durations 120, 61, 300, 8: 489 / 4 = 122.25, truncated.
    assert profile["avg_session_duration"] == 122


@pytest.mark.parametrize("user_id", [8, 404])
def test_stub_and_unknown_users_are_404(client: TestClient, user_id: int) -> None:
    response = client.get(f"/api/users/{user_id}")
    assert response.status_code == 404
    assert str(user_id) in response.json()["detail"]


@pytest.mark.parametrize("user_id", ["ann", str(2**63)])
def test_an_id_that_is_no_bigint_is_422(client: TestClient, user_id: str) -> None:
    assert client.get(f"/api/users/{user_id}").status_code == 422


def test_the_profile_exports_as_csv_and_json_with_formulas_defused(
        client: TestClient, database_url: str, profile: dict[str, Any]) -> None:
    conn = connect(database_url)
    with conn, conn.cursor() as cur:      # read from PostgreSQL at each request
        cur.execute("UPDATE users SET name = '=HYPERLINK(\"http://x\")', company = '@Acme'"
                    " WHERE id = 7")
        _insert(cur, "search_queries", user_id=7, session_id="s1", query="-2+3",
                searched_at=at("2026-03-14T09:03:00"))
    conn.close()
    response = client.get("/api/export/users/7.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        "attachment; filename=insights_user_7.csv")
    assert response.content.startswith(b"\xef\xbb\xbf")   # UTF-8 with a byte order mark
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["user_id", "section", "item", "value", "time", "session_id", "page"]
    assert {row[0] for row in rows[1:]} == {"7"}
    cells = {(row[1], row[2]): row[3:] for row in rows[1:]}
    assert cells["user", "name"][0] == "'=HYPERLINK(\"http://x\")"
    assert cells["user", "company"][0] == "'@Acme"
    assert cells["user", "is_active"][0] == "true"
    assert cells["summary", "engagement_score"][0] == str(profile["engagement_score"])
    assert cells["summary", "avg_sessions_week"][0] == "0.6"
    assert cells["search_queries", "'-2+3"] == ["", "2026-03-14T09:03:00Z", "", ""]
    assert cells["js_errors", "TypeError: a"] == [
        "app.js:10", "2026-03-14T09:02:00Z", "s1", "/forum/topic-1"]
    assert cells["trend", "2026-03-15"] == [str(profile["trend_data"]["scores"][-1]), "", "",
                                            ""]
    assert len([r for r in rows if r[1] == "hourly"]) == 24
    assert len([r for r in rows if r[1] == "timeline"]) == len(profile["timeline"]) + 1

    polish = client.get("/api/export/users/7.csv?lang=pl")
    header = next(csv.reader(io.StringIO(polish.content.decode("utf-8-sig"))))
    assert header[:4] == ["ID użytkownika", "Sekcja", "Pozycja", "Wartość"]
    as_json = client.get("/api/export/users/7.json")
    assert as_json.headers["content-disposition"] == (
        "attachment; filename=insights_user_7.json")
    body = as_json.json()
    assert body["user"]["name"] == "=HYPERLINK(\"http://x\")"      # JSON keeps the text
    assert body["search_queries"][0]["query"] == "-2+3"
    assert set(body) == set(profile)


@pytest.mark.parametrize(("path", "status"), [
    ("/api/export/users/404.csv", 404), ("/api/export/users/8.json", 404),
    ("/api/export/users/7.csv?lang=de", 422), ("/api/export/users/ann.csv", 422)])
def test_a_profile_export_refuses_unknown_users_and_languages(
        client: TestClient, path: str, status: int) -> None:
    assert client.get(path).status_code == status
