"""What the rankings store for a user: membership rules of the problems and engagement lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.ranking import rank_values
from insights.readmodel.userstate import UserRow, UserSums
from scoring.windows import day_number

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
QUIET = UserSums.parse([0] * 13)
# resets 1; js errors day/week/month 0/2/3; slow 0/0/1; sessions 2, views 5, clicks 0...
BUSY = UserSums.parse([1, 0, 2, 3, 0, 0, 1, 2, 5, 0, 0, 0, 0])


def _row(**changes: object) -> UserRow:
    fields: dict[str, object] = dict(
        id=1, email="a@example.com", name="A", role="MEMBER", is_active=True,
        created_at=NOW - timedelta(days=3), last_login=NOW - timedelta(days=1),
        failed_login_attempts=0, locked_until=None, tracked=True)
    fields.update(changes)
    return UserRow(**fields)  # type: ignore[arg-type]


def test_scores_per_period_and_indexes() -> None:
    day, week, month, engaged, login, created, lock, *statuses = rank_values(
        _row(), BUSY, [0, 1, 1], NOW)
    assert (day, week, month) == ("15", "41", "46")   # 15 reset + 2*3 errors + 20 alert ...
    assert engaged == "11"                              # 2 sessions*3 + 5 views
    assert login == str(day_number(NOW.date()) - 1)
    assert created != "" and lock == ""
    assert statuses == ["", "11", ""]                   # at risk: a score of 5-19


def test_quiet_users_leave_the_rankings_but_stay_indexed() -> None:
    values = rank_values(_row(last_login=None), QUIET, [0, 0, 0], NOW)
    assert values[:4] == ["", "", "", ""]
    assert values[4] == "-1"                            # never logged in: dormant


def test_only_current_locks_are_indexed() -> None:
    locked = rank_values(_row(locked_until=NOW + timedelta(hours=1)), QUIET, [0, 0, 0], NOW)
    assert locked[0] == "40" and float(locked[6]) == (NOW + timedelta(hours=1)).timestamp()
    expired = rank_values(_row(locked_until=NOW - timedelta(seconds=1)), QUIET, [0, 0, 0], NOW)
    assert expired[0] == "" and expired[6] == ""


def test_untracked_inactive_and_unlisted_users() -> None:
    for row in (_row(tracked=False), _row(is_active=False)):
        assert rank_values(row, BUSY, [1, 1, 1], NOW) == [""] * 10
    unaffiliated = rank_values(_row(role="UNAFFILIATED"), BUSY, [0, 0, 0], NOW)
    assert unaffiliated[3] == "" and unaffiliated[0] != ""
    assert rank_values(_row(role=None), BUSY, [0, 0, 0], NOW)[3] == ""


# 2 sessions and 14 views: an engagement score of exactly 20.
ENGAGED = UserSums.parse([0, 0, 0, 0, 0, 0, 0, 2, 14, 0, 0, 0, 0])


def test_the_list_is_ranked_once_more_in_the_set_of_each_users_status() -> None:
    def statuses(**row: object) -> list[str]:
        return rank_values(_row(**row), ENGAGED, [0, 0, 0], NOW)[7:]

    assert statuses(last_login=NOW - timedelta(days=7)) == ["20", "", ""]     # active
    assert statuses(last_login=NOW - timedelta(days=8)) == ["", "20", ""]     # at risk
    assert statuses(last_login=NOW - timedelta(days=31)) == ["", "", "20"]    # dormant
    assert statuses(last_login=None) == ["", "", "20"]
    assert statuses(role="UNAFFILIATED") == ["", "", ""]                      # not listed
    assert rank_values(_row(), QUIET, [0, 0, 0], NOW)[7:] == ["", "", ""]     # score 0
