"""The profile route against the independent SQL oracle (``harness/reference``) on random data.

Times carry random microseconds, so no two events tie and every list has one
order; equal counts are ordered by name in both (byte order).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness import reference
from harness.reference.inserts import Rows
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

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
USERS = (1, 2, 3, 4)
PATHS = ("/", "/forum", "/forum/t/1", "/chat", "/company/acme", "/pricing", "/forumx",
         "/events/2026", "/membership", "/search", "/admin/users", "//x", "/Zeta", "/alpha")
DEVICES = ("desktop", "mobile", "tablet", None)
BROWSERS = ("Firefox", "Chrome", "Safari", "Edge", "Opera", "Brave", None)


def _when(rng: random.Random, max_days: int) -> str:
    moment = NOW - timedelta(seconds=rng.uniform(0, max_days * 86400))
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _seed(rows: Rows, rng: random.Random) -> None:
    for uid in USERS:
        rows.user(uid, f"u{uid}@example.com", f"User {uid}", created=_when(rng, 200),
                  failed=rng.randint(0, 4),
                  locked_until=rng.choice([None, "2026-11-25 13:00", "2026-11-25 11:00"]))
        _activity(rows, rng, uid)
    rows.user(5, None, stub=True)
    for n in range(5):  # anonymous sessions: their errors belong to no user
        rows.session(f"anon{n}", None, _when(rng, 40))
        rows.error(f"anon{n}", rng.choice(USERS), _when(rng, 10))


def _activity(rows: Rows, rng: random.Random, uid: int) -> None:
    sessions = [f"s{uid}-{n}" for n in range(rng.randint(10, 40))]
    for sid in sessions:
        ended = rng.random() < 0.7
        rows.session(sid, uid, _when(rng, 60), device=rng.choice(DEVICES),
                     browser=rng.choice(BROWSERS),
                     duration=rng.randint(0, 900) if ended else None,
                     clicks=rng.randint(0, 30) if ended else None)
    for _ in range(rng.randint(30, 90)):
        rows.view(rng.choice([*sessions, None]), uid, rng.choice(PATHS), _when(rng, 45),
                  load=rng.choice([None, rng.randint(100, 6000), 3000, 3001]))
    for _ in range(rng.randint(0, 15)):
        rows.error(rng.choice(sessions), rng.choice([uid, None]), _when(rng, 20),
                   message=f"E{rng.randint(1, 5)}", source=rng.choice([None, "app.js"]),
                   line=rng.choice([None, rng.randint(1, 500)]))
    for _ in range(rng.randint(0, 14)):
        email = rng.choice([f"u{uid}@example.com", f"U{uid}@example.com"])
        rows.alert(email, rng.choice(["brute_force", "suspicious_ip"]), _when(rng, 30),
                   severity=rng.choice(["high", "low", None]))
    for _ in range(rng.randint(0, 8)):
        rows.reset(uid, _when(rng, 60))
    for _ in range(rng.randint(0, 14)):
        rows.search(uid, f"q{rng.randint(1, 9)}", _when(rng, 40))
    for _ in range(rng.randint(0, 12)):
        rows.conversion(uid, rng.choice(["registration", "contact"]), _when(rng, 40))


class _NoTabs:
    def tab(self, tab: Tab, period: str, filter_: Filter, now: datetime) -> TabDocument:
        raise AssertionError(f"the profile route read the {tab} tab")


@pytest.fixture
def seeded(database_url: str) -> str:
    conn = connect(database_url)
    rows = Rows(conn)
    _seed(rows, random.Random(20261125))
    rows.commit()
    conn.close()
    return database_url


@pytest.fixture
def client(seeded: str, stack_urls: stack.StackUrls) -> Iterator[TestClient]:
    prefix = unique("profile")
    count_in_redis(stack_urls.redis_url, seeded, prefix, NOW)
    engine = create_engine(seeded, pool_size=1)
    token = create_token(engine, "admin@corp.io", Role.ADMIN)[0]
    engine.dispose()
    settings = Settings(postgres_url=seeded, redis_url=stack_urls.redis_url,
                        redis_prefix=prefix)
    app = create_app(settings, tab_reader=_NoTabs(), clock=lambda: NOW)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def _expected(url: str, user_id: int) -> dict[str, Any] | None:
    conn = connect(url)
    try:
        return reference.profile(conn, user_id, NOW)
    finally:
        conn.close()


@pytest.mark.parametrize("user_id", [*USERS, 5, 6])
def test_profile_matches_the_oracle(client: TestClient, seeded: str, user_id: int) -> None:
    expected = _expected(seeded, user_id)
    response = client.get(f"/api/users/{user_id}")
    if expected is None:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    body = response.json()
    # The API adds fields (user extras, score components); none of the oracle's differs.
    assert {key: body[key] for key in expected if key != "user"} == {
        key: value for key, value in expected.items() if key != "user"}
    assert {key: body["user"][key] for key in expected["user"]} == expected["user"]
    assert len(body["timeline"]) > 20  # the data reaches the per-kind limits
