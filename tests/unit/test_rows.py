"""User state folds in arrival order; rows carry what the tables need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers import rows
from insights.events import contract as c

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_failures_add_up_and_a_success_resets_them() -> None:
    events = [c.LoginFailed(event_id="1", ts=at(0), user_id=5),
              c.LoginFailed(event_id="2", ts=at(1), user_id=5),
              c.LoginSucceeded(event_id="3", ts=at(2), user_id=5),
              c.LoginFailed(event_id="4", ts=at(3), user_id=5)]
    (change,) = rows.user_changes(events)
    assert change.reset_failed and change.failed_added == 1
    assert change.last_login == at(2)


def test_failures_without_success_only_add() -> None:
    (change,) = rows.user_changes([c.LoginFailed(event_id="1", ts=at(0), user_id=5)] * 3)
    assert not change.reset_failed and change.failed_added == 3


def test_last_lock_or_unlock_wins_and_lock_is_not_an_alert() -> None:
    events = [c.AccountLocked(event_id="1", ts=at(0), user_id=5, locked_until=at(30)),
              c.AccountUnlocked(event_id="2", ts=at(5), user_id=5)]
    (change,) = rows.user_changes(events)
    assert change.lock_changed and change.locked_until is None
    (locked,) = rows.user_changes(events[:1])
    assert locked.locked_until == at(30)
    assert rows.table_row(events[0], b"{}")[0] == "state_events"


def test_upsert_changes_only_the_fields_it_carries() -> None:
    first = c.UserUpsert(event_id="1", ts=at(0), user_id=5, email="a@x.pl", name="Ala")
    second = c.UserUpsert(event_id="2", ts=at(1), user_id=5, email="b@x.pl", role=None)
    (change,) = rows.user_changes([first, second])
    assert change.profile == {"email": "b@x.pl", "name": "Ala", "role": None}
    row = dict(zip(rows.USER_CHANGE_COLUMNS, change.row(), strict=True))
    assert row["has_role"] and row["role"] is None
    assert not row["has_company"] and not row["reset_failed"]
    assert row["upserted_at"] == at(1)


def test_changes_are_per_user() -> None:
    events = [c.LoginFailed(event_id="1", ts=at(0), user_id=1),
              c.LoginFailed(event_id="2", ts=at(0), user_id=2),
              c.Search(event_id="3", ts=at(0), user_id=1, query="q")]
    assert sorted((ch.user_id, ch.failed_added) for ch in rows.user_changes(events)) == [
        (1, 1), (2, 1)]


def test_last_session_end_and_page_leave_win() -> None:
    events = [c.SessionEnd(event_id="1", ts=at(0), session_id="s", duration_seconds=10),
              c.SessionEnd(event_id="2", ts=at(1), session_id="s", duration_seconds=20,
                           clicks_count=3),
              c.PageLeave(event_id="3", ts=at(1), pageview_id="p", time_on_page_seconds=4)]
    assert rows.session_ends(events) == {"s": (20, 3, at(1))}
    leaves = rows.page_leaves([(e, b'{"n": %d}' % i) for i, e in enumerate(events)])
    assert leaves == {"p": (4, None, "3", b'{"n": 2}')}


def test_every_type_has_a_table_with_matching_columns() -> None:
    samples = [
        c.SessionStart(event_id="e", ts=T0, session_id="s"),
        c.PageView(event_id="e", ts=T0, pageview_id="p", path="/"),
        c.JsError(event_id="e", ts=T0, session_id="s", message="m"),
        c.SecurityAlert(event_id="e", ts=T0, user_email="a", alert_type="brute_force"),
        c.PasswordReset(event_id="e", ts=T0, user_id=1),
        c.Search(event_id="e", ts=T0, query="q"),
        c.Conversion(event_id="e", ts=T0, event_type="registration"),
        c.SessionEnd(event_id="e", ts=T0, session_id="s"),
        c.PageLeave(event_id="e", ts=T0, pageview_id="p"),
    ]
    tables = set()
    for event in samples:
        table, row = rows.table_row(event, b"{}")
        assert len(row) == len(rows.COLUMNS[table]), table
        tables.add(table)
    assert tables == set(rows.COLUMNS)
