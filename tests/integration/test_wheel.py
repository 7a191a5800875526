"""The wheel works away from the checkout.

Built from a copy of the sources, installed into a fresh virtualenv in a temporary
directory with exactly the dependencies its metadata declares (versions pinned by
``requirements/runtime.lock``, as the image installs them; no system site-packages, no
embedded extra), then run from a directory outside the checkout against the suite's
servers, passed by URL as a deployment passes them: ``insights db upgrade``, a short
``insights simulate`` and ``insights consume``, and one API read from ``insights serve``.

uv builds and installs: from its cache (after the first run) this takes seconds, and it
resolves the wheel's own requirements, so a dependency missing from ``pyproject.toml``
is missing here too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from harness.services import admin, query, redis_records, stored_records, unique, wait_for
from harness.services import with_database as on_database
from insights import stack
from insights.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")
#: What is not source: the checkout's own environment, caches, state and build output.
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", ".insights", "*.egg-info", "__pycache__",
                                    ".*_cache", "build", "dist", "test-artifacts", "results")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    outside: Path                                     # a working directory away from ROOT

    def command(self, *args: str, env: dict[str, str], timeout: float = 120
                ) -> subprocess.CompletedProcess[str]:
        """Run the installed ``insights`` from ``outside``; the result, whatever its code."""
        return subprocess.run([str(self.venv / "bin" / "insights"), *args], cwd=self.outside,
                              env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def start(self, *args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen([str(self.venv / "bin" / "insights"), *args],
                                    cwd=self.outside, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)


def _clean_environment() -> dict[str, str]:
    """This process's environment without the settings and the checkout's virtualenv."""
    dropped = ("INSIGHTS_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


def _checked(args: list[str | Path], cwd: Path) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=_clean_environment(),
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    _checked([UV, "build", "--quiet", "--wheel", "--out-dir", work / "dist", source], work)
    (wheel,) = (work / "dist").glob("insights-*.whl")
    venv = work / "venv"
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    _checked([UV, "venv", "--quiet", "--python", base, venv], work)
    _checked([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
              "--constraint", ROOT / "requirements" / "runtime.lock", wheel], work)
    outside = work / "elsewhere"
    outside.mkdir()
    return Installed(wheel, venv, outside)


def test_the_wheel_holds_the_packages_and_the_migrations_only(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "insights", "consumers", "scoring", "web", "insights-0.1.0.dist-info"}
    assert sorted(n for n in names if n.startswith("insights/migrations/")) == [
        f"insights/migrations/{name}.sql" for name in (
            "001_events", "002_accounts", "003_web_sessions", "004_token_expiry",
            "005_read_models", "006_alerts", "007_user_day_counts",
            "008_monthly_partitions", "009_user_search")]
    # The installed package is the wheel's, not the checkout's.
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                            "import insights; print(insights.__file__)"],
                           cwd=installed.outside, env=_clean_environment(),
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(installed.venv))


def test_without_the_embedded_extra_an_unset_url_says_what_to_do(
        installed: Installed) -> None:
    done = installed.command("db", "upgrade", env=_clean_environment())
    assert done.returncode == 1
    assert "install insights[embedded], or set INSIGHTS_KAFKA_BOOTSTRAP" in done.stderr
    assert not (installed.outside / ".insights").exists()


@pytest.fixture
def fresh_database(stack_urls: stack.StackUrls) -> Iterator[str]:
    name = unique("insights_wheel_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    yield on_database(stack_urls.postgres_url, name)
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=5) as answer:
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()
    except OSError:
        return 0, b""


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(30)


def test_installed_wheel_upgrades_simulates_consumes_and_serves(
        installed: Installed, stack_urls: stack.StackUrls, fresh_database: str,
        tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap=stack_urls.kafka_bootstrap, postgres_url=fresh_database,
                        redis_url=stack_urls.redis_url, topic_prefix=unique("w") + ".",
                        consumer_group=unique("g"), redis_prefix=unique("r"), partitions=2)
    env = _clean_environment() | {
        "INSIGHTS_KAFKA_BOOTSTRAP": stack_urls.kafka_bootstrap,
        "INSIGHTS_POSTGRES_URL": fresh_database,
        "INSIGHTS_REDIS_URL": stack_urls.redis_url,
        "INSIGHTS_TOPIC_PREFIX": settings.topic_prefix,
        "INSIGHTS_CONSUMER_GROUP": settings.consumer_group,
        "INSIGHTS_REDIS_PREFIX": settings.redis_prefix,
        "INSIGHTS_PARTITIONS": "2",
        "INSIGHTS_METRICS_PORT": str(_free_port()),
        "INSIGHTS_SECRET_KEY": Fernet.generate_key().decode(),
        "INSIGHTS_EMBEDDED": "never",                   # as the image sets it
    }

    upgraded = installed.command("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied: 001_events" in upgraded.stderr

    simulated = installed.command("simulate", "--users", "20", "--rate", "40", "--duration",
                                  "1", "--seed", "15", env=env)
    assert simulated.returncode == 0, simulated.stderr
    total = re.search(r"total\D+([\d,]+)", simulated.stderr)
    assert total, simulated.stderr
    sent = int(total[1].replace(",", ""))
    assert sent > 0

    consumer = installed.start("consume", env=env, log=tmp_path / "consume.log")
    try:
        wait_for(lambda: consumer.poll() is None and stored_records(settings) == sent
                 and redis_records(settings) == sent, 90, f"{sent} records in both sinks")
        checked = installed.command("health", "consumer", env=env)   # the compose healthcheck
    finally:
        code = _stop(consumer)
    assert (checked.returncode, checked.stderr.strip()) == (0, "healthy")
    assert code == 0, (tmp_path / "consume.log").read_text()

    created = installed.command("token", "create", "--email", "ops@example.com", "--role",
                                "ADMIN", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]

    port = _free_port()
    server = installed.start("serve", "--port", str(port), env=env, log=tmp_path / "serve.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: server.poll() is None and _get(f"{base}/healthz")[0] == 200, 60,
                 "the installed web app's /healthz")
        status, body = _get(f"{base}/api/tabs/overview?period=month", token)
        checked = installed.command("health", "web", env=env | {"INSIGHTS_WEB_PORT": str(port)})
    finally:
        _stop(server)
    assert (checked.returncode, checked.stderr.strip()) == (0, "healthy")
    assert status == 200, (tmp_path / "serve.log").read_text()
    views = query(fresh_database, "SELECT count(*) FROM page_views")[0][0]
    assert isinstance(views, int) and views > 0
    assert sum(json.loads(body)["chart_data"]["pageviews"]) == views
