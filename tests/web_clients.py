"""Helpers of the web tests: accounts with passwords, and logging in through the form."""

from __future__ import annotations

import re

from httpx2 import Client, Response

from web.auth.accounts import Role, set_password
from web.auth.passwords import hash_password
from web.engine import create_engine

PASSWORD = "correct horse battery"


def make_account(database_url: str, email: str, role: Role, password: str = PASSWORD) -> None:
    """Create (or reset) a dashboard account that logs in with ``password``."""
    engine = create_engine(database_url, pool_size=1)
    try:
        set_password(engine, email, role, hash_password(password))
    finally:
        engine.dispose()


def form_token(page: str) -> str:
    """The CSRF token of the page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: Client, email: str, password: str = PASSWORD) -> Response:
    """Open the log-in form and post it, as a browser would (redirect not followed); any
    client: the in-process ``TestClient`` or one talking to a real server."""
    token = form_token(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token}, follow_redirects=False)
