"""Fixtures over real servers: the embedded stack (or configured URLs), a fresh database,
fresh topics and a fresh consumer group per test."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from consumers.pipeline import Pipeline
from consumers.stages import stages
from harness.services import ConsumerProcess, admin, unique, with_database
from insights import database, stack
from insights.events import kafka
from insights.events.producer import Emitter
from insights.settings import Settings
from tests.redis_process import RedisProcess


def enterable_dir(prefix: str) -> Path:
    """A new directory under the system's temp dir that anyone may enter (0755).

    As root, PostgreSQL runs as its own system user, who must enter the state
    dir; pytest's temp dirs are private (0700, and pytest makes its shared root
    0700 again at each session's start), so a stack's state dir there would have
    its data moved under ``/var/lib/insights-embedded`` (``insights.stack.pgdata``).
    """
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return directory


@pytest.fixture
def open_tmp_path() -> Iterator[Path]:
    """A test's own enterable directory (see ``enterable_dir``), removed after it."""
    directory = enterable_dir("insights-test-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_state() -> Iterator[Path | None]:
    """State dir of the embedded stack this run started; None when URLs are configured."""
    configured = Settings()
    if configured.kafka_bootstrap and configured.postgres_url and configured.redis_url:
        yield None
        return
    state = enterable_dir("insights-stack-")
    stack.up(state)
    yield state
    stack.down(state)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_urls(stack_state: Path | None) -> stack.StackUrls:
    if stack_state is None:
        s = Settings()
        assert s.kafka_bootstrap and s.postgres_url and s.redis_url
        return stack.StackUrls(s.kafka_bootstrap, s.postgres_url, s.redis_url)
    urls = stack.urls(stack_state)
    assert urls is not None
    return urls


@pytest.fixture(scope="session")
def template_database(stack_urls: stack.StackUrls) -> Iterator[str]:
    """A migrated database that each test's database is cloned from."""
    name = unique("insights_template_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}"')
    database.upgrade(with_database(stack_urls.postgres_url, name))
    yield name
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(stack_urls: stack.StackUrls, template_database: str) -> Iterator[str]:
    name = unique("insights_test_")
    admin(stack_urls.postgres_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield with_database(stack_urls.postgres_url, name)
    admin(stack_urls.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(stack_urls: stack.StackUrls, database_url: str, tmp_path: Path) -> Settings:
    """Settings of one test: its own database, topics and consumer group."""
    s = Settings(kafka_bootstrap=stack_urls.kafka_bootstrap, postgres_url=database_url,
                 redis_url=stack_urls.redis_url, topic_prefix=unique("t") + ".",
                 consumer_group=unique("g"), partitions=4, metrics_port=0,
                 redis_prefix=unique("r"),
                 batch_linger_ms=50, retry_max_seconds=1.0, state_dir=tmp_path / "state")
    kafka.ensure_topics(s.kafka_bootstrap or "", s.topics().values(), s.partitions)
    return s


@pytest.fixture
def emitter(settings: Settings) -> Iterator[Emitter]:
    with Emitter(settings.kafka_bootstrap or "", settings.topics()) as em:
        yield em


@pytest.fixture
def raw_producer(settings: Settings) -> Iterator[kafka.EventProducer]:
    producer = kafka.EventProducer(settings.kafka_bootstrap or "")
    yield producer
    producer.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis server of the test's own, to kill, restart empty or freeze (the suite's
    shared one keeps running for the other tests)."""
    server = RedisProcess(tmp_path / "redis").start()
    yield server
    server.close()


@pytest.fixture
def run_pipeline() -> Iterator[Callable[..., Pipeline]]:
    """Start an in-process pipeline (a thread), on the wall clock or on ``clock``; it is
    stopped at the end of the test."""
    running: list[tuple[Pipeline, threading.Thread]] = []

    def start(s: Settings, clock: Callable[[], datetime] | None = None) -> Pipeline:
        assert s.kafka_bootstrap and s.postgres_url and s.redis_url
        urls = stack.StackUrls(s.kafka_bootstrap, s.postgres_url, s.redis_url)
        timed = {"clock": clock} if clock is not None else {}
        pipeline = Pipeline(s, s.kafka_bootstrap, stages(s, urls), **timed)
        thread = threading.Thread(target=pipeline.run, daemon=True)
        thread.start()
        running.append((pipeline, thread))
        return pipeline

    yield start
    for pipeline, thread in running:
        pipeline.stop()
        thread.join(30)


@pytest.fixture
def consumer_process(settings: Settings, tmp_path: Path
                     ) -> Iterator[Callable[..., ConsumerProcess]]:
    """Factory of ``insights consume`` child processes for this test's settings."""
    made: list[ConsumerProcess] = []

    def make(without: tuple[str, ...] = ()) -> ConsumerProcess:
        made.append(ConsumerProcess(settings, tmp_path, without))
        return made[-1]

    yield make
    for process in made:
        process.close()


