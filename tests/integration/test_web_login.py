"""Log-in, sessions, roles, CSRF and throttling over real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from insights.settings import Settings
from tests.web_clients import PASSWORD, form_token, log_in, make_account
from web.app import create_app
from web.auth.accounts import Role
from web.auth.sessions import COOKIE
from web.engine import create_engine

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[MakeClient]:
    """Factory of clients of one app on the test's servers (settings overridable)."""
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=overrides)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


@pytest.fixture
def manager(settings: Settings) -> str:
    email = "office@corp.io"
    make_account(settings.postgres_url or "", email, Role.OFFICE_MANAGER)
    return email


def test_the_dashboard_sends_a_visitor_without_session_to_the_log_in(client: TestClient
                                                                      ) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_log_in_sets_a_hardened_cookie_and_opens_dashboard_and_api(
        client: TestClient, manager: str) -> None:
    response = log_in(client, manager)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(h for h in response.headers.get_list("set-cookie")
                  if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie          # plain http here; Secure over https
    page = client.get("/")
    assert page.status_code == 200 and manager in page.text
    assert client.get("/api/tabs/problems").status_code == 200


def test_cookie_is_secure_over_https(make_client: MakeClient, manager: str) -> None:
    client = make_client()
    client.base_url = client.base_url.copy_with(scheme="https")
    response = log_in(client, manager)
    assert response.status_code == 303
    assert any("Secure" in h for h in response.headers.get_list("set-cookie")
               if h.startswith(f"{COOKIE}="))


def test_wrong_password_and_unknown_email_get_the_same_answer(
        client: TestClient, manager: str) -> None:
    wrong = log_in(client, manager, "not the password at all")
    unknown = log_in(client, "nobody@corp.io", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong e-mail or password." in response.text
        assert not any(h.startswith(f"{COOKIE}=") for h in response.headers.get_list("set-cookie"))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_log_in_without_the_form_token_is_refused(client: TestClient, manager: str) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": manager, "password": PASSWORD,
                                           "csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_failures_are_throttled_alike_for_known_and_unknown_emails(
        make_client: MakeClient, manager: str) -> None:
    client = make_client(login_failures_per_email=3)
    for email in (manager, "ghost@corp.io"):
        codes = [log_in(client, email, "wrong wrong wrong").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
    # Even the right password waits out the window: nothing tells the attacker it was right.
    blocked = log_in(client, manager)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_a_role_below_office_manager_is_refused_everywhere(
        client: TestClient, settings: Settings) -> None:
    make_account(settings.postgres_url or "", "member@corp.io", Role.MANAGER)
    assert log_in(client, "member@corp.io").status_code == 303
    page = client.get("/")
    assert page.status_code == 403 and "OFFICE_MANAGER" in page.text
    assert client.get("/api/tabs/problems").status_code == 403


def test_logout_needs_the_session_token_and_ends_the_session(
        client: TestClient, manager: str, settings: Settings) -> None:
    log_in(client, manager)
    page = client.get("/")
    stolen_cookie = client.cookies[COOKIE]
    assert client.post("/logout", data={"csrf_token": "forged"},
                       follow_redirects=False).status_code == 403
    assert client.get("/api/tabs/problems").status_code == 200
    out = client.post("/logout", data={"csrf_token": form_token(page.text)},
                      follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # The old cookie, replayed, opens nothing.
    client.cookies.set(COOKIE, stolen_cookie)
    assert client.get("/api/tabs/problems").status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_idle_session_ends(client: TestClient, manager: str, settings: Settings) -> None:
    log_in(client, manager)
    engine = create_engine(settings.postgres_url or "", pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE web_sessions SET last_seen_at = now() - interval '13 hours'"))
    finally:
        engine.dispose()
    assert client.get("/api/tabs/problems").status_code == 401


def test_api_tokens_keep_working_beside_sessions(client: TestClient, settings: Settings) -> None:
    from web.auth.accounts import create_token

    engine = create_engine(settings.postgres_url or "", pool_size=1)
    try:
        token, _ = create_token(engine, "script@corp.io", Role.ADMIN, "cron")
    finally:
        engine.dispose()
    response = client.get("/api/tabs/overview", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert set(response.json()["freshness"]) == {"newest_event_at", "applied_at", "lag"}


def test_the_dashboard_loads_only_its_own_assets(client: TestClient, manager: str) -> None:
    import re

    log_in(client, manager)
    page = client.get("/").text
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all(link.startswith(("/static/", "data:", "#", "/logout")) for link in links)
    for link in (x for x in links if x.startswith("/static/")):
        asset = client.get(link)
        assert asset.status_code == 200, link
        assert asset.headers["cache-control"] == "no-cache"
    assert client.get("/static/vendor/chart.umd.min.js").status_code == 200


def test_the_openapi_page_works_offline(client: TestClient) -> None:
    import re

    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").json()["info"]["title"] == "insights"


def test_a_form_token_of_any_text_is_refused_cleanly(client: TestClient, manager: str) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": manager, "password": PASSWORD,
                                           "csrf_token": "zażółć"}, follow_redirects=False)
    assert response.status_code == 403
    log_in(client, manager)
    assert client.post("/logout", data={"csrf_token": "gęś"},
                       follow_redirects=False).status_code == 403


def test_concurrent_attempts_cannot_slip_under_the_limit(settings: Settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import redis

    from insights.readmodel.keys import Keys
    from web.auth.throttle import Policy, Throttle

    client = redis.Redis.from_url(settings.redis_url or "")
    throttle = Throttle(client, Keys(settings.redis_prefix), Policy(per_email=3, per_ip=100))
    with ThreadPoolExecutor(20) as pool:
        waits = list(pool.map(lambda _: throttle.attempt("a@corp.io", "10.0.0.1"), range(20)))
    client.close()
    assert sum(1 for wait in waits if wait == 0) == 3
    assert all(0 < wait <= 900 for wait in waits if wait)


def test_a_new_password_ends_the_accounts_sessions(
        client: TestClient, manager: str, settings: Settings) -> None:
    log_in(client, manager)
    assert client.get("/api/tabs/problems").status_code == 200
    make_account(settings.postgres_url or "", manager, Role.OFFICE_MANAGER,
                 "another long password")
    assert client.get("/api/tabs/problems").status_code == 401


def test_cookies_can_be_forced_secure_behind_a_proxy(make_client: MakeClient,
                                                     manager: str) -> None:
    # Plain http here, as between a TLS proxy and the app: the flag is set all the same.
    client = make_client(web_secure_cookies=True)
    form = client.get("/login")
    assert all("Secure" in h for h in form.headers.get_list("set-cookie"))


def test_logging_in_again_ends_the_previous_session(client: TestClient, manager: str,
                                                    settings: Settings) -> None:
    log_in(client, manager)
    first = client.cookies[COOKIE]
    log_in(client, manager)
    assert client.cookies[COOKIE] != first
    engine = create_engine(settings.postgres_url or "", pool_size=1)
    try:
        with engine.connect() as conn:
            live = conn.execute(text("SELECT count(*) FROM web_sessions"
                                     " WHERE ended_at IS NULL")).scalar_one()
    finally:
        engine.dispose()
    assert live == 1


def test_sockets_credentials_are_rechecked_for_end_revocation_and_role(
        client: TestClient, manager: str, settings: Settings) -> None:
    from datetime import timedelta

    from web.auth.accounts import create_token, hash_token, revoke_tokens
    from web.auth.identity import still_allowed
    from web.auth.sessions import SessionLimits

    url = settings.postgres_url or ""
    log_in(client, manager)
    session = f"s:{hash_token(client.cookies[COOKIE])}"
    engine = create_engine(url, pool_size=1)
    limits = SessionLimits(idle=timedelta(hours=1), lifetime=timedelta(days=1))
    try:
        token, _ = create_token(engine, "script@corp.io", Role.ADMIN)
        held = {session, f"t:{hash_token(token)}", "t:unknown", "s:unknown"}
        assert still_allowed(engine, held, limits) == {session, f"t:{hash_token(token)}"}
        revoke_tokens(engine, "script@corp.io")
        with engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET role = 'MEMBER' WHERE email = :e"),
                         {"e": manager})
        assert still_allowed(engine, held, limits) == set()
    finally:
        engine.dispose()


HOSTILE_INPUTS = [
    ("nul\x00@corp.io", PASSWORD), ("office@corp.io", "pass\x00word-long-enough"),
    ("\x00", "\x00"), ("office@corp.io\x1b[2J", PASSWORD), ("a\u2028b@corp.io", PASSWORD),
    ("x" * 5000 + "@corp.io", PASSWORD), ("office@corp.io", "p" * 5000),
]


@pytest.mark.parametrize(("email", "password"), HOSTILE_INPUTS)
def test_control_characters_and_odd_input_get_the_normal_refusal(
        client: TestClient, manager: str, email: str, password: str) -> None:
    token = form_token(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text
    # The form still works for the right password afterwards.
    assert log_in(client, manager).status_code == 303


@pytest.mark.parametrize("raw", [b"%00", b"%FF%FE", b"%ED%A0%80", b"%C0%80", b"\xff"])
def test_undecodable_form_bytes_get_the_normal_refusal(client: TestClient, manager: str,
                                                       raw: bytes) -> None:
    for field in (b"email", b"password"):
        token = form_token(client.get("/login").text)
        other = b"password=x" if field == b"email" else b"email=office%40corp.io"
        body = field + b"=" + raw + b"&" + other + b"&csrf_token=" + token.encode()
        response = client.post("/login", content=body, follow_redirects=False, headers={
            "content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 401, (field, raw, response.status_code, response.text[-600:])
        assert "Wrong e-mail or password." in response.text
