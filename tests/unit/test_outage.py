"""Which errors are outages (a 503 naming the part) and which stay bugs (a 500), and the
deadlines that bound PostgreSQL calls."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
import redis.exceptions
import sqlalchemy.exc
from psycopg2 import errors as pg_errors

from web.deadlines import Guard, Stalled, Watchdog
from web.outage import Unavailable, of


def _wrapped(error: Exception, invalidated: bool = False) -> sqlalchemy.exc.DBAPIError:
    """``error`` as SQLAlchemy raises it from a statement."""
    return sqlalchemy.exc.DBAPIError.instance(
        "SELECT 1", {}, error, psycopg2.Error, connection_invalidated=invalidated)


@pytest.mark.parametrize(("error", "part", "state"), [
    (redis.exceptions.ConnectionError("refused"), "redis", "unreachable"),
    (redis.exceptions.BusyLoadingError("loading"), "redis", "unreachable"),
    (redis.exceptions.TimeoutError("no answer"), "redis", "timeout"),
    (psycopg2.OperationalError("server closed the connection"), "postgres", "unreachable"),
    (psycopg2.InterfaceError("connection already closed"), "postgres", "unreachable"),
    (Stalled("no answer"), "postgres", "timeout"),
    (pg_errors.QueryCanceled("statement timeout"), "postgres", "timeout"),
    (_wrapped(psycopg2.OperationalError("could not connect")), "postgres", "unreachable"),
    (_wrapped(Stalled("no answer")), "postgres", "timeout"),
    (_wrapped(psycopg2.DatabaseError("lost"), invalidated=True), "postgres", "unreachable"),
    (sqlalchemy.exc.TimeoutError("QueuePool limit"), "postgres", "busy"),
])
def test_the_clients_outage_errors_name_the_part_that_is_down(
        error: Exception, part: str, state: str) -> None:
    outage = of(error)
    assert outage is not None
    assert (outage.part, outage.state, outage.reason) == (part, state, f"{part} {state}")
    assert outage.retry_after_s >= 1
    # What clients read never carries the server's own text (hosts, ports...).
    assert str(error) not in outage.detail


@pytest.mark.parametrize("error", [
    ValueError("a bug"),
    redis.exceptions.ResponseError("WRONGTYPE"),
    _wrapped(psycopg2.ProgrammingError("syntax error")),
    _wrapped(pg_errors.UniqueViolation("duplicate key")),
])
def test_other_errors_are_not_outages(error: Exception) -> None:
    assert of(error) is None


def test_a_read_model_being_rebuilt_is_an_outage_of_its_own() -> None:
    rebuilding = Unavailable("read model", "The read model is being rebuilt.", 30,
                             state="rebuilding")
    assert of(rebuilding) is rebuilding
    assert rebuilding.reason == "read model rebuilding"
    assert rebuilding.retry_after_s == 30


def test_the_watchdog_runs_an_action_whose_deadline_passed_and_not_a_disarmed_one() -> None:
    watchdog = Watchdog()
    fired, kept = threading.Event(), threading.Event()
    late = watchdog.arm(0.05, fired.set)
    early = watchdog.arm(0.01, kept.set)
    assert watchdog.disarm(early)
    assert fired.wait(5)
    assert not watchdog.disarm(late)          # it ran: too late to disarm
    time.sleep(0.1)
    assert not kept.is_set()


def test_after_a_stall_new_connections_are_not_tried_for_one_deadline() -> None:
    guard = Guard(0.2)
    guard.check_quiet()
    guard.stalled()
    with pytest.raises(Stalled):
        guard.check_quiet()
    with pytest.raises(Stalled):     # no connection attempted (no server behind the URL)
        guard.connect(host="127.0.0.1", port=1)
    time.sleep(0.25)
    guard.check_quiet()
