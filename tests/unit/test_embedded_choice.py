"""When a server URL is unset: the embedded stack, or one clear error (INSIGHTS_EMBEDDED=never,
as in the image; or the ``insights[embedded]`` extra not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from insights import endpoints, stack
from insights.cli.app import main
from insights.settings import Settings
from insights.stack.base import EMBEDDED_MODULES


def _no_start(state_dir: Path) -> stack.StackUrls:
    raise AssertionError("the embedded stack must not start")


def test_never_refuses_an_unset_url_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "up", _no_start)
    settings = Settings(embedded="never", kafka_bootstrap="kafka:9092", postgres_url=None,
                        redis_url=None)
    with pytest.raises(stack.StackError) as refused:
        endpoints.resolve(settings)
    assert str(refused.value) == ("INSIGHTS_POSTGRES_URL, INSIGHTS_REDIS_URL not set, and"
                                  " INSIGHTS_EMBEDDED=never forbids the embedded stack: set"
                                  " the servers' URLs")


def test_never_with_every_url_set_uses_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "up", _no_start)
    settings = Settings(embedded="never", kafka_bootstrap="k:9092",
                        postgres_url="postgresql://u@p/db", redis_url="redis://r:6379/0")
    assert endpoints.resolve(settings) == stack.StackUrls(
        "k:9092", "postgresql://u@p/db", "redis://r:6379/0")


@pytest.mark.parametrize("missing", EMBEDDED_MODULES)
def test_without_the_extra_the_error_says_to_install_it(
        missing: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, missing, None)        # as on an install without it
    settings = Settings(kafka_bootstrap=None, postgres_url=None, redis_url=None,
                        state_dir=tmp_path / "state")
    with pytest.raises(stack.StackError, match=r"install insights\[embedded\], or set"
                                               r" INSIGHTS_KAFKA_BOOTSTRAP") as refused:
        endpoints.resolve(settings)
    assert f"(no {missing})" in str(refused.value)
    assert not (tmp_path / "state").exists()              # refused before anything was made


def test_the_command_exits_1_with_the_sentence(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("KAFKA_BOOTSTRAP", "POSTGRES_URL", "REDIS_URL"):
        monkeypatch.delenv(f"INSIGHTS_{name}", raising=False)
    monkeypatch.setenv("INSIGHTS_EMBEDDED", "never")
    monkeypatch.setattr(stack, "up", _no_start)
    monkeypatch.setattr(sys, "argv", ["insights", "db", "upgrade"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert "INSIGHTS_EMBEDDED=never forbids the embedded stack" in capsys.readouterr().err
