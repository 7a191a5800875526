"""Secrets from files (``INSIGHTS_NAME_FILE``) and server URLs built from their parts,
the password percent-encoded: what docker-compose.yml relies on."""

from __future__ import annotations

from pathlib import Path

import psycopg2.extensions
import pytest
from redis.connection import parse_url
from sqlalchemy.engine import make_url

from insights.settings import Settings

#: Every character that breaks a URL pasted together by hand.
NASTY = "p@ss:w/rd#?%&+ ü"


@pytest.fixture(autouse=True)
def _no_outer_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSTGRES_URL", "REDIS_URL", "SECRET_KEY", "POSTGRES_PASSWORD",
                 "REDIS_PASSWORD", "POSTGRES_HOST", "REDIS_HOST"):
        monkeypatch.delenv(f"INSIGHTS_{name}", raising=False)
        monkeypatch.delenv(f"INSIGHTS_{name}_FILE", raising=False)


def _secret(tmp_path: Path, text: str, name: str = "secret") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_setting_is_read_from_the_file_its_file_variable_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_SECRET_KEY_FILE", _secret(tmp_path, NASTY + "\n"))
    monkeypatch.setenv("INSIGHTS_WEB_PORT_FILE", _secret(tmp_path, "8123", "port"))
    settings = Settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == NASTY    # the final line break dropped
    assert settings.web_port == 8123                          # any setting, any type


def test_a_setting_given_twice_is_refused(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_SECRET_KEY_FILE", _secret(tmp_path, "a"))
    monkeypatch.setenv("INSIGHTS_SECRET_KEY", "b")
    with pytest.raises(ValueError, match="both INSIGHTS_SECRET_KEY and"
                                         " INSIGHTS_SECRET_KEY_FILE are set"):
        Settings()


def test_a_missing_file_names_its_variable(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_POSTGRES_PASSWORD_FILE", str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="INSIGHTS_POSTGRES_PASSWORD_FILE: cannot read"):
        Settings()


def test_the_postgres_url_is_built_from_parts_with_the_password_encoded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_POSTGRES_HOST", "postgres")
    monkeypatch.setenv("INSIGHTS_POSTGRES_USER", "insights_app")
    monkeypatch.setenv("INSIGHTS_POSTGRES_PASSWORD_FILE", _secret(tmp_path, NASTY))
    url = Settings().postgres_url
    assert url is not None
    assert psycopg2.extensions.parse_dsn(url) == {
        "user": "insights_app", "password": NASTY, "host": "postgres", "port": "5432",
        "dbname": "insights"}
    assert make_url(url).password == NASTY                    # the web app's engine


def test_the_redis_url_is_built_from_parts_with_the_password_encoded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTS_REDIS_HOST", "redis")
    monkeypatch.setenv("INSIGHTS_REDIS_PASSWORD_FILE", _secret(tmp_path, NASTY))
    url = Settings().redis_url
    assert url is not None
    assert parse_url(url) == {"password": NASTY, "host": "redis", "port": 6379, "db": 0}


def test_a_url_given_whole_wins_and_no_host_means_embedded() -> None:
    given = Settings(postgres_url="postgresql://a@b/c", postgres_host="elsewhere",
                     redis_host=None)
    assert given.postgres_url == "postgresql://a@b/c"
    assert given.redis_url is None
