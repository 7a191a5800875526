"""The demo's banner: whole lines in any terminal width, and metrics said to be off."""

from __future__ import annotations

from pathlib import Path

import pytest

from insights.cli.demo import _announce, banner
from insights.settings import Settings
from insights.stack import StackUrls

URLS = StackUrls("127.0.0.1:9092", "postgresql://insights@127.0.0.1:5432/insights",
                 "redis://127.0.0.1:6379/0")
TOKEN = "ins_" + "x" * 40


def test_every_line_is_printed_whole_in_a_narrow_terminal(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    lines = banner(Settings(metrics_port=9464), URLS, TOKEN, "pw", Path(".insights/logs"))
    _announce(lines, 30)
    printed = capsys.readouterr().err.splitlines()
    curl = next(line for line in lines if "curl" in line)
    assert len(curl) > 40 and curl in printed          # copy-pasteable as it is
    assert "metrics     http://127.0.0.1:9464/metrics" in printed
    assert "logs        .insights/logs/consume.log, serve.log, dispatch.log" in printed


def test_metrics_off_is_said_not_port_zero() -> None:
    lines = banner(Settings(metrics_port=0), URLS, TOKEN, "pw", Path("logs"))
    assert "metrics     off (INSIGHTS_METRICS_PORT=0)" in lines
    assert not any(":0/metrics" in line for line in lines)
