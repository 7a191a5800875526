"""``GET /api/users?q=``: users found by the beginnings of their name's words, their
e-mail address or their id, from an index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness.services import query, unique
from insights import stack
from insights.database import connect
from insights.settings import Settings
from web.app import create_app
from web.auth.accounts import Role, create_token
from web.engine import create_engine

USERS = [
    (8, "Krzysztof Zieliński", "Krzysztof.Zielinski@wieczorek-catering.pl", "MANAGER"),
    (9, "Zofia Krzyżanowska", "zofia@krzyz.example", "USER"),
    (10, "Anna Nowak", "anna.nowak@corp.io", "USER"),
    (11, None, "o'brien@corp.io", "USER"),
    (1010, "Jan Kowalski", "jan@corp.io", "USER"),
]


@pytest.fixture
def api(database_url: str, stack_urls: stack.StackUrls) -> Iterator[TestClient]:
    conn = connect(database_url)
    with conn, conn.cursor() as cur:
        for uid, name, email, role in USERS:
            cur.execute("INSERT INTO users (id, name, email, role, company, upserted_at)"
                        " VALUES (%s, %s, %s, %s, 'Corp', now())", (uid, name, email, role))
        cur.execute("INSERT INTO users (id) VALUES (12)")     # no upsert yet: not tracked
    conn.close()
    engine = create_engine(database_url, pool_size=1)
    token = create_token(engine, "om@corp.io", Role.OFFICE_MANAGER)[0]
    engine.dispose()
    settings = Settings(postgres_url=database_url, redis_url=stack_urls.redis_url,
                        redis_prefix=unique("search"))
    with TestClient(create_app(settings),
                    headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _ids(api: TestClient, q: str, **params: Any) -> list[int]:
    answer = api.get("/api/users", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    assert answer.json()["query"] == q
    return [u["id"] for u in answer.json()["users"]]


def test_words_of_the_name_and_the_email_are_found_by_their_beginning(api: TestClient) -> None:
    assert _ids(api, "zie") == [8]                      # a surname's beginning
    assert _ids(api, "KRZY") == [8, 9]                  # case ignored; by name
    assert _ids(api, "krzy zof") == [9]                 # every word must match
    assert _ids(api, "anna.no") == [10]                 # an e-mail address's beginning
    assert _ids(api, "o'brien") == [11]                 # quotes are text, not syntax
    assert _ids(api, "nobody") == []
    whole = api.get("/api/users", params={"q": "zofia"}).json()["users"][0]
    assert whole == {"id": 9, "name": "Zofia Krzyżanowska", "email": "zofia@krzyz.example",
                     "role": "USER", "company": "Corp"}


def test_an_id_finds_its_user_first_and_untracked_users_are_never_found(
        api: TestClient) -> None:
    assert _ids(api, "1010") == [1010]
    assert _ids(api, " 8 ") == [8]
    assert _ids(api, "12") == []                        # a row no user_upsert created
    assert _ids(api, "99999999999999999999") == []      # beyond bigint: no id, no error


@pytest.mark.parametrize("q", ["&", "!", "zie:*", "a & b | c", "(", "'", "\\", "\x00",
                              "ż" * 200])
def test_no_query_text_is_an_error(api: TestClient, q: str) -> None:
    answer = api.get("/api/users", params={"q": q})
    assert answer.status_code == 200, answer.text
    if answer.status_code == 200:
        assert isinstance(answer.json()["users"], list)


def test_limits_and_refusals(api: TestClient) -> None:
    assert _ids(api, "k") == [1010, 8, 9]                # Jan Kowalski, Krzysztof, Zofia K.
    assert _ids(api, "k", limit=2) == [1010, 8]
    assert api.get("/api/users", params={"q": ""}).status_code == 422
    assert api.get("/api/users", params={"q": "x" * 201}).status_code == 422
    assert api.get("/api/users", params={"q": "a", "limit": 51}).status_code == 422
    assert TestClient(api.app).get("/api/users", params={"q": "a"}).status_code == 401


def test_the_search_is_served_by_its_index(database_url: str) -> None:
    plan = query(database_url, "SET enable_seqscan = off; EXPLAIN SELECT id FROM users"
                               " WHERE search @@ to_tsquery('simple', 'zie:*')")
    assert "users_search" in " ".join(str(row[0]) for row in plan)
