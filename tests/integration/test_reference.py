"""The SQL oracle of the dashboard's semantics, on small hand-built data sets.

Each expected value was worked out by hand from the rules (semantics.md, the
reference). "Now" is Wednesday 2026-11-25 12:00 UTC: the day window starts
2026-11-25, the week window 2026-11-18, the month window 2026-10-26. The test
connection runs in Asia/Tokyo so that any day, hour or weekday not taken in UTC
shows up as a difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from harness.reference import profile, tab
from harness.reference.inserts import Rows, at

NOW = at("2026-11-25 12:00")
Conn = Any


@pytest.fixture
def conn(database_url: str) -> Iterator[Conn]:
    connection = psycopg2.connect(database_url, options="-c timezone=Asia/Tokyo")
    yield connection
    connection.close()


def user(uid: int, name: str, email: str) -> dict[str, Any]:
    return {"id": uid, "name": name, "email": email}


def seed_problems(rows: Rows) -> None:
    rows.user(1, "a@x", "alice", failed=3, locked_until="2026-11-26 00:00",
              last_login="2026-11-24 10:00")
    rows.user(2, "b@x", "bob", locked_until="2026-11-20 00:00")  # lock expired
    rows.user(3, "c@x", "carol", active=False, failed=5, locked_until="2026-12-01 00:00")
    rows.user(4, None, None, stub=True, failed=3, locked_until="2026-12-01 00:00")
    rows.user(5, "d@x", "dave")
    rows.user(6, "e@x", "eve", failed=2)
    rows.session("s1", 1, "2026-11-20 10:00")
    rows.session("s2", 2, "2026-11-10 10:00")
    rows.session("sa", None, "2026-11-24 10:00")
    rows.error("s1", 2, "2026-11-21 10:00")  # the session's user (alice) counts
    rows.error("s1", 1, "2026-11-17 23:59:59")  # month only
    rows.error("sa", None, "2026-11-24 10:01")  # anonymous: card only
    rows.error("s2", None, "2026-11-22 10:00")  # bob's session started before the week
    rows.error("nosuch", 1, "2026-11-25 01:00")  # unknown session: card only
    rows.view("s1", 1, "/a", "2026-11-19 10:00", load=3500)
    rows.view("s1", 1, "/b", "2026-11-19 10:01", load=3000)  # not slow
    rows.view("s1", 1, "/c", "2026-11-19 10:02")
    rows.view("s2", 2, "/d", "2026-11-18 00:00", load=5000)  # window start, included
    rows.alert("a@x", "brute_force", "2026-11-22 10:00")
    rows.alert("A@x", "account_locked", "2026-11-23 10:00")  # case differs: card only
    rows.alert("nobody@x", "suspicious_ip", "2026-11-24 10:00")
    rows.alert("b@x", "suspicious_login", "2026-11-01 10:00")
    rows.reset(2, "2026-11-01 10:00")
    rows.reset(2, "2026-10-25 23:00")  # before the month window
    rows.reset(1, "2026-11-24 10:00")
    rows.reset(4, "2026-11-24 11:00")  # a stub's reset still counts on the card
    rows.commit()


def test_problems_week(conn: Conn) -> None:
    seed_problems(Rows(conn))
    counts = ("failed_logins", "password_resets", "js_errors", "slow_pages",
              "security_alerts")

    def row(u: dict[str, Any], score: int, nums: tuple[int, ...], locked: bool,
            last: str | None) -> dict[str, Any]:
        return {"user": u, "score": score, **dict(zip(counts, nums, strict=True)),
                "is_locked": locked, "last_login": last}

    assert tab(conn, "problems", "week", "all", NOW) == {
        "locked_accounts": 1, "failed_logins": 2, "password_resets": 2, "js_errors": 4,
        "problem_users": [
            row(user(1, "alice", "a@x"), 100, (3, 1, 1, 1, 1), True, "2026-11-24T10:00:00Z"),
            row(user(2, "bob", "b@x"), 20, (0, 1, 1, 1, 0), False, None),
            row(user(6, "eve", "e@x"), 20, (2, 0, 0, 0, 0), False, None),
        ],
    }


def test_problems_day_and_month(conn: Conn) -> None:
    seed_problems(Rows(conn))
    day = tab(conn, "problems", "day", "all", NOW)
    assert [day[k] for k in ("locked_accounts", "failed_logins", "password_resets",
                             "js_errors")] == [1, 0, 0, 1]
    month = tab(conn, "problems", "month", "all", NOW)
    assert [month[k] for k in ("failed_logins", "password_resets", "js_errors")] == [2, 3, 5]
    by_id = {p["user"]["id"]: p for p in month["problem_users"]}
    assert (by_id[1]["js_errors"], by_id[1]["score"]) == (2, 100)
    assert (by_id[2]["security_alerts"], by_id[2]["score"]) == (1, 40)
    assert [p["user"]["id"] for p in month["problem_users"]] == [1, 2, 6]


def seed_engagement(rows: Rows) -> None:
    rows.user(1, "a@x", "ann", created="2026-11-03 00:00", last_login="2026-11-24 10:00")
    rows.user(2, "b@x", "ben", created="2026-10-31 23:59", last_login="2026-11-17 23:00")
    rows.user(3, "c@x", "cid", role="UNAFFILIATED", created="2026-11-01 00:00",
              last_login="2026-10-26 10:00")
    rows.user(4, "d@x", "dan", role=None)
    rows.user(5, "e@x", "eva", active=False, created="2026-11-10 00:00")
    rows.user(6, None, None, stub=True)
    rows.user(7, "f@x", "fay", role="ADMIN", created="2026-11-25 00:00",
              last_login="2026-10-25 10:00")
    rows.user(8, "g@x", "gus", created="2026-09-01 00:00", last_login="2026-11-25 01:00")
    rows.session("a1", 1, "2026-11-24 09:00", duration=600, clicks=10)
    rows.session("a2", 1, "2026-11-20 09:00")  # never ended: 0 seconds, 0 clicks
    rows.session("a3", 1, "2026-11-05 09:00", duration=300, clicks=4)
    rows.session("b1", 2, "2026-11-12 09:00", duration=120, clicks=1)
    rows.session("s6", 6, "2026-11-22 09:00")
    rows.session("c1", 3, "2026-11-21 09:00")
    rows.session("d1", 4, "2026-11-23 09:00")
    rows.session("e1", 5, "2026-11-24 09:00")
    rows.session("f1", 7, "2026-11-18 00:00", duration=0)
    rows.session("an", None, "2026-11-23 09:00")
    for when in ("2026-11-25 08:00", "2026-11-25 08:05", "2026-11-24 09:01",
                 "2026-11-19 09:00", "2026-11-15 09:00", "2026-11-15 09:01",
                 "2026-11-15 09:02", "2026-11-10 09:00"):
        rows.view("a1", 1, "/", when)
    rows.view("b1", 2, "/", "2026-11-12 09:00")
    rows.view("b1", 2, "/", "2026-11-12 09:01")
    for when in ("2026-11-18 00:00", "2026-11-22 09:00", "2026-11-22 09:01"):
        rows.view("f1", 7, "/", when)
    for minute in range(8):
        rows.view("f1", 7, "/", "2026-11-17 23:59:59" if minute == 0
                  else f"2026-11-17 23:5{minute}")
    rows.search(1, "x", "2026-11-24 10:00")
    rows.search(1, "y", "2026-11-24 10:01")
    rows.search(1, "old", "2026-10-20 10:00")
    rows.conversion(1, "registration", "2026-11-23 10:00")
    rows.commit()


def test_engagement_week(conn: Conn) -> None:
    seed_engagement(Rows(conn))
    assert tab(conn, "engagement", "week", "all", NOW) == {
        "active_7d": 6, "at_risk": 2, "dormant": 2, "new_this_month": 3,
        "engagement_list": [
            # 3 sessions*3 + 8 views + 14 clicks*0.5 + 900 s/60*2 + 10 + 2 searches*2
            {"user": user(1, "ann", "a@x"), "score": 68, "sessions": 2, "page_views": 4,
             "wow": 33, "status": "active", "sparkline": [1, 0, 0, 0, 0, 1, 2]},
            # 3 + 11 views; (3 - 8) / 8 = -62.5 % rounds to even
            {"user": user(7, "fay", "f@x"), "score": 14, "sessions": 1, "page_views": 3,
             "wow": -62, "status": "at_risk", "sparkline": [0, 0, 0, 2, 0, 0, 0]},
            # 3 + 2 views + 0.5 + 4 = 9.5
            {"user": user(2, "ben", "b@x"), "score": 9, "sessions": 0, "page_views": 0,
             "wow": -100, "status": "at_risk", "sparkline": [0] * 7},
        ],
        "statuses": {"active": 1, "at_risk": 2, "dormant": 0}, "status_filter": None,
    }
    # The list by status: fay and ben are at risk (scores 5-19), ann is active.
    at_risk = tab(conn, "engagement", "week", "at_risk", NOW)
    assert [row["user"]["id"] for row in at_risk["engagement_list"]] == [7, 2]
    assert at_risk["status_filter"] == "at_risk"


def test_engagement_day_and_month(conn: Conn) -> None:
    seed_engagement(Rows(conn))
    day = tab(conn, "engagement", "day", "all", NOW)
    assert day["active_7d"] == 0
    ann = day["engagement_list"][0]
    assert (ann["sessions"], ann["page_views"], ann["wow"]) == (0, 2, 100)
    month = tab(conn, "engagement", "month", "all", NOW)
    assert month["active_7d"] == 7
    rows = {e["user"]["id"]: e for e in month["engagement_list"]}
    assert (rows[1]["sessions"], rows[1]["page_views"], rows[1]["wow"]) == (3, 8, 100)
    assert (rows[2]["page_views"], rows[2]["wow"], rows[2]["score"]) == (2, 100, 9)


def seed_pages(rows: Rows) -> None:
    rows.view(None, 1, "/", "2026-11-20 10:00", seconds=10, scroll=50, load=100)
    rows.view(None, None, "/", "2026-11-21 10:00", seconds=21, load=301)
    rows.view(None, 1, "/company/acme", "2026-11-20 10:00")
    rows.view(None, 2, "/company/beta", "2026-11-20 10:00", seconds=7)
    rows.view(None, 3, "/company", "2026-11-20 10:00")
    rows.view(None, 1, "/forum", "2026-11-20 10:00")
    rows.view(None, 2, "/forum/t/1", "2026-11-20 10:00")
    rows.view(None, 3, "/forumx", "2026-11-20 10:00")
    rows.view(None, 1, "/Forum", "2026-11-20 10:00")  # case-sensitive: no section
    rows.view(None, 2, "/szukaj?q=a", "2026-11-20 10:00", seconds=5)
    rows.view(None, None, "/other", "2026-11-20 10:00")
    rows.view(None, 1, "/admin", "2026-11-17 10:00")  # month only
    for _ in range(5):
        rows.view(None, 1, "/events", "2026-11-01 10:00")
    rows.view(None, 1, "/ancient", "2026-10-25 23:59")  # before the month window
    rows.commit()


def test_pages_week(conn: Conn) -> None:
    seed_pages(Rows(conn))
    result = tab(conn, "pages", "week", "all", NOW)
    assert result["sections"] == [
        {"name": "Strona główna", "views": 2, "unique_users": 1, "avg_time": 15,
         "intensity": 66},
        {"name": "Profile firm", "views": 2, "unique_users": 2, "avg_time": 7,
         "intensity": 66},
        {"name": "Forum", "views": 3, "unique_users": 3, "avg_time": 0, "intensity": 100},
        {"name": "Chat", "views": 0, "unique_users": 0, "avg_time": 0, "intensity": 0},
        {"name": "Wyszukiwarka", "views": 1, "unique_users": 1, "avg_time": 5,
         "intensity": 33},
        *({"name": name, "views": 0, "unique_users": 0, "avg_time": 0, "intensity": 0}
          for name in ("Wydarzenia", "Ogłoszenia", "Członkostwo", "Admin")),
    ]
    singles = ["/Forum", "/company", "/company/acme", "/company/beta", "/forum",
               "/forum/t/1", "/forumx", "/other", "/szukaj?q=a"]
    top = result["top_pages"]
    assert top[0] == {"path": "/", "views": 2, "unique_users": 1, "avg_time": 15,
                      "avg_scroll": 50, "avg_load": 200, "bar_pct": 100}
    assert [p["path"] for p in top[1:]] == singles
    assert top[9] == {"path": "/szukaj?q=a", "views": 1, "unique_users": 1, "avg_time": 5,
                      "avg_scroll": 0, "avg_load": 0, "bar_pct": 50}
    assert result["ignored_pages"] == (
        [{"path": p, "views": 1} for p in sorted([*singles, "/admin"])]
        + [{"path": "/", "views": 2}])


def test_pages_day_and_custom_sections(conn: Conn) -> None:
    rows = Rows(conn)
    seed_pages(rows)
    rows.view(None, 4, "/a_b/c", "2026-11-25 00:00")
    rows.view(None, 5, "/axb", "2026-11-25 01:00")  # "_" is not a wildcard
    rows.commit()
    result = tab(conn, "pages", "day", "all", NOW,
                 sections={"Under": ["/a_b"], "Home": ["/", "/forum"]})
    assert result["sections"] == [
        {"name": "Under", "views": 1, "unique_users": 1, "avg_time": 0, "intensity": 100},
        {"name": "Home", "views": 0, "unique_users": 0, "avg_time": 0, "intensity": 0},
    ]
    assert [p["path"] for p in result["top_pages"]] == ["/a_b/c", "/axb"]


def seed_paths(rows: Rows) -> None:
    for minute, path in enumerate(["/", "/forum", "/forum", "/chat"]):
        rows.view("p1", 1, path, f"2026-11-20 10:0{minute}")
    rows.view("p2", None, "/", "2026-11-21 09:00")
    rows.view("p2", None, "/search", "2026-11-21 09:05")
    rows.view("p3", 2, "/events", "2026-11-17 23:00")  # before the week window
    rows.view("p3", 2, "/forum", "2026-11-18 00:00")
    # Same instant: the event id decides the order (/a first, /b last).
    rows.view("p4", 3, "/b", "2026-11-22 12:00", eid="pv-b")
    rows.view("p4", 3, "/a", "2026-11-22 12:00", eid="pv-a")
    rows.view(None, 3, "/", "2026-11-22 12:01")  # no session: not in paths
    for minute in range(11):
        rows.view("p5", 4, "/chat", f"2026-11-23 10:{minute:02d}")
    for minute in range(16):
        rows.view("p6", 5, "/d", f"2026-11-24 10:{minute:02d}")
    rows.commit()


def test_paths_week(conn: Conn) -> None:
    seed_paths(Rows(conn))
    assert tab(conn, "paths", "week", "all", NOW) == {
        "entry_pages": [{"path": "/", "count": 2, "bar_pct": 100}] + [
            {"path": p, "count": 1, "bar_pct": 50} for p in ("/a", "/chat", "/d", "/forum")],
        "exit_pages": [{"path": "/chat", "count": 2, "bar_pct": 100}] + [
            {"path": p, "count": 1, "bar_pct": 50} for p in ("/b", "/d", "/forum", "/search")],
        "transitions": [{"from": a, "to": b, "count": 1} for a, b in (
            ("/", "/forum"), ("/", "/search"), ("/a", "/b"), ("/forum", "/chat"))],
        "dropoff": [
            {"path": "/chat", "views": 12, "exits": 2, "exit_rate": 16.7},
            {"path": "/d", "views": 16, "exits": 1, "exit_rate": 6.3},  # 6.25 half up
        ],
        "session_lengths": [
            {"bucket": "1 page", "count": 1, "bar_pct": 50},
            {"bucket": "2 pages", "count": 2, "bar_pct": 100},
            {"bucket": "3-5 pages", "count": 1, "bar_pct": 50},
            {"bucket": "10+ pages", "count": 2, "bar_pct": 100},
        ],
    }


def test_paths_month_sees_the_earlier_view(conn: Conn) -> None:
    seed_paths(Rows(conn))
    result = tab(conn, "paths", "month", "all", NOW)
    entries = {p["path"]: p["count"] for p in result["entry_pages"]}
    assert entries == {"/": 2, "/a": 1, "/chat": 1, "/d": 1, "/events": 1}
    assert {"from": "/events", "to": "/forum", "count": 1} in result["transitions"]


def seed_overview(rows: Rows) -> None:
    rows.session("o1", 1, "2026-11-25 08:30", device="desktop")
    rows.session("o2", None, "2026-11-25 08:45", device="mobile")
    rows.session("o3", 2, "2026-11-23 14:10", device="tablet")
    rows.session("o4", None, "2026-10-26 00:00", device=None)  # window start
    rows.session("o5", 1, "2026-10-25 23:59:59")  # before the window
    rows.session("o6", 3, "2026-11-08 23:30")  # a Sunday in UTC
    for when in ("2026-11-25 08:31", "2026-11-25 08:46", "2026-10-26 00:00",
                 "2026-10-25 23:00"):
        rows.view(None, None, "/", when)
    rows.commit()


def test_overview(conn: Conn) -> None:
    seed_overview(Rows(conn))
    result = tab(conn, "overview", "day", "all", NOW)
    labels = result["chart_data"]["labels"]
    assert (len(labels), labels[0], labels[-1]) == (31, "2026-10-26", "2026-11-25")
    sessions = dict(zip(labels, result["chart_data"]["sessions"], strict=True))
    assert {d: n for d, n in sessions.items() if n} == {
        "2026-10-26": 1, "2026-11-08": 1, "2026-11-23": 1, "2026-11-25": 2}
    views = dict(zip(labels, result["chart_data"]["pageviews"], strict=True))
    assert {d: n for d, n in views.items() if n} == {"2026-10-26": 1, "2026-11-25": 2}
    hot = {(r, h): (c["count"], c["intensity"]) for r, row in enumerate(result["heatmap"])
           for h, c in enumerate(row["hours"]) if c["count"]}
    assert hot == {(3, 8): (2, 100), (1, 14): (1, 50), (1, 0): (1, 50), (0, 23): (1, 50)}
    assert [row["name"] for row in result["heatmap"]] == [
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    assert result["logged_vs_anon"] == {"logged": 3, "anonymous": 2}
    assert result["devices"] == {"labels": ["2026-10-26", "2026-11-02", "2026-11-23"],
                                 "desktop": [0, 1, 1], "mobile": [0, 0, 1],
                                 "tablet": [0, 0, 1]}
    assert result["filter_type"] == "all"


@pytest.mark.parametrize(("filter_", "expected"), [
    ("logged", {"2026-11-08": 1, "2026-11-23": 1, "2026-11-25": 1}),
    ("anonymous", {"2026-10-26": 1, "2026-11-25": 1}),
])
def test_overview_filter_changes_only_sessions(conn: Conn, filter_: str,
                                               expected: dict[str, int]) -> None:
    seed_overview(Rows(conn))
    base = tab(conn, "overview", "week", "all", NOW)
    result = tab(conn, "overview", "month", filter_, NOW)
    chart = result["chart_data"]
    assert {d: n for d, n in zip(chart["labels"], chart["sessions"], strict=True)
            if n} == expected
    assert result["filter_type"] == filter_
    assert chart["pageviews"] == base["chart_data"]["pageviews"]
    assert result["heatmap"] == base["heatmap"]
    assert result["devices"] == base["devices"]


def seed_profile(rows: Rows) -> None:
    rows.user(1, "p@x", "pat", created="2026-10-15 00:00", failed=1,
              locked_until="2026-11-25 11:59")  # expired a minute ago
    rows.user(2, "q@x", "quin")
    rows.user(3, None, None, stub=True)
    rows.session("ps1", 1, "2026-11-25 09:00", duration=100, clicks=4)
    rows.session("ps2", 1, "2026-11-24 21:00", device="mobile", browser=None)
    rows.session("ps3", 1, "2026-11-10 09:30", duration=51, clicks=0)
    rows.session("ps4", 1, "2026-10-01 08:00", device="tablet", browser="Chrome",
                 duration=10)
    rows.session("q1", 2, "2026-11-24 10:00")
    rows.view("ps1", 1, "/", "2026-11-25 09:01", load=200)
    rows.view("ps1", 1, "/company/acme", "2026-11-25 09:02", load=3500)
    rows.view("ps2", 1, "/forum/t/9", "2026-11-24 21:01", load=4000)
    rows.view("ps2", 1, "/profile", "2026-11-24 21:02")
    rows.view("ps3", 1, "/", "2026-11-10 09:31", load=3001)
    rows.view("ps4", 1, "/chat", "2026-10-01 08:01")
    for second in range(31):
        rows.view("ps3", 1, "/bulk", f"2026-11-15 10:00:{second:02d}")
    rows.error("ps1", None, "2026-11-25 09:03", message="TypeError", source="app.js", line=10)
    rows.error("ps3", 1, "2026-11-10 09:35", message="Old")
    rows.error("q1", 1, "2026-11-24 10:01", message="not pat's")
    rows.alert("p@x", "brute_force", "2026-11-24 20:00", severity="high")
    rows.alert("p@x", "login_anomaly", "2026-11-12 10:00", severity=None)
    rows.alert("P@x", "brute_force", "2026-11-24 20:00")
    rows.reset(1, "2026-11-20 10:00")
    rows.reset(1, "2026-10-20 10:00")
    rows.search(1, "widgets", "2026-11-24 21:03")
    rows.search(1, "tie", "2026-11-20 10:00")  # same time as a reset: search first
    rows.conversion(1, "registration", "2026-11-25 09:04")
    rows.commit()


def test_profile(conn: Conn) -> None:
    seed_profile(Rows(conn))
    result = profile(conn, 1, NOW)
    assert result is not None
    assert result["user"] == user(1, "pat", "p@x")
    # 3 sessions*3 + 36 views + 4 clicks*0.5 + 151 s/60*2 + 10 + 2 searches*2 = 66.03
    assert result["engagement_score"] == 66
    assert result["problem_score"] == 10 + 15 + 3 + 2 * 2 + 20
    z = "2026-11-{}Z".format
    assert [(t["type"], t["icon"], t["time"], t["desc"]) for t in result["timeline"]] == [
        ("conversion", "check", z("25T09:04:00"), "Conversion: registration"),
        ("pageview", "eye", z("25T09:02:00"), "Visited: /company/acme"),
        ("pageview", "eye", z("25T09:01:00"), "Visited: /"),
        ("login", "key", z("25T09:00:00"), "Session (desktop, Firefox)"),
        ("search", "search", z("24T21:03:00"), 'Searched: "widgets"'),
        ("pageview", "eye", z("24T21:01:00"), "Visited: /forum/t/9"),
        ("login", "key", z("24T21:00:00"), "Session (mobile, ?)"),
        ("problem", "shield", z("24T20:00:00"), "Alert: brute_force (high)"),
        ("search", "search", z("20T10:00:00"), 'Searched: "tie"'),
        ("problem", "alert", z("20T10:00:00"), "Password reset"),
        ("problem", "shield", z("12T10:00:00"), "Alert: login_anomaly (?)"),
        ("pageview", "eye", z("10T09:31:00"), "Visited: /"),
        ("login", "key", z("10T09:30:00"), "Session (desktop, Firefox)"),
        ("problem", "alert", "2026-10-20T10:00:00Z", "Password reset"),
        ("pageview", "eye", "2026-10-01T08:01:00Z", "Visited: /chat"),
        ("login", "key", "2026-10-01T08:00:00Z", "Session (tablet, Chrome)"),
    ]
    assert result["fav_pages"] == [
        {"path": "/bulk", "count": 31, "bar_pct": 100}, {"path": "/", "count": 2, "bar_pct": 6},
        *({"path": p, "count": 1, "bar_pct": 3}
          for p in ("/company/acme", "/forum/t/9", "/profile"))]
    assert result["devices"] == [{"type": "desktop", "count": 2},
                                 {"type": "mobile", "count": 1}]
    assert result["browsers"] == [{"name": "Firefox", "count": 2},
                                  {"name": "unknown", "count": 1}]
    hours = {b["hour"]: (b["count"], b["pct"]) for b in result["hourly_bars"] if b["count"]}
    assert (len(result["hourly_bars"]), hours) == (24, {9: (2, 100), 21: (1, 50)})


def test_profile_series_and_history(conn: Conn) -> None:
    seed_profile(Rows(conn))
    result = profile(conn, 1, NOW)
    assert result is not None
    trend = result["trend_data"]
    assert (len(trend["labels"]), trend["labels"][0], trend["labels"][-1]) == (
        30, "2026-10-27", "2026-11-25")
    scores = {d: s for d, s in zip(trend["labels"], trend["scores"], strict=True) if s}
    assert scores == {"2026-11-10": 4, "2026-11-15": 30, "2026-11-24": 5, "2026-11-25": 5}
    # Each with its session and page: the session's last view at or before the error.
    assert result["js_errors"] == [
        {"message": "TypeError", "source": "app.js", "line": 10,
         "occurred_at": "2026-11-25T09:03:00Z", "session_id": "ps1", "page": "/company/acme"},
        {"message": "Old", "source": None, "line": None, "occurred_at": "2026-11-10T09:35:00Z",
         "session_id": "ps3", "page": "/"},
    ]
    assert [(p["path"], p["load_time_ms"], p["viewed_at"]) for p in result["slow_pages"]] == [
        ("/company/acme", 3500, "2026-11-25T09:02:00Z"),
        ("/forum/t/9", 4000, "2026-11-24T21:01:00Z"),
        ("/", 3001, "2026-11-10T09:31:00Z")]
    assert (result["password_resets"], result["security_alerts_count"]) == (1, 1)
    assert (result["avg_sessions_week"], result["avg_session_duration"]) == (0.7, 53)
    assert result["search_queries"] == [
        {"query": "widgets", "searched_at": "2026-11-24T21:03:00Z"},
        {"query": "tie", "searched_at": "2026-11-20T10:00:00Z"}]


def test_profile_of_unknown_or_stub_user_is_none(conn: Conn) -> None:
    seed_profile(Rows(conn))
    assert profile(conn, 3, NOW) is None
    assert profile(conn, 99, NOW) is None
    quin = profile(conn, 2, NOW)
    assert quin is not None
    assert (quin["js_errors"][0]["message"], quin["avg_sessions_week"]) == ("not pat's", 1.0)


@pytest.mark.parametrize(("name", "period", "filter_"), [
    ("nope", "week", "all"), ("pages", "year", "all"), ("overview", "week", "some"),
])
def test_unknown_tab_period_or_filter_is_refused(conn: Conn, name: str, period: str,
                                                 filter_: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        tab(conn, name, period, filter_, NOW)
