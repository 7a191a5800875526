"""The kept window sums the tabs read without ``counters.lua`` (``redisdb.kept_sums``)."""

from __future__ import annotations

from datetime import date

from insights.readmodel.redisdb import kept_sums, queries_digest
from insights.readmodel.userstate import (
    USER_METRICS,
    UserSums,
    kept_asked,
    list_parts,
    score_asked,
    script_queries,
    user_queries,
)
from scoring.windows import PERIODS, day_number

TODAY = date(2026, 12, 5)
DIGEST = "ab" * 20


def test_the_sums_kept_for_the_asked_queries_are_read_as_they_are() -> None:
    assert kept_sums([DIGEST, "1 2 3", "20792"], DIGEST, 3) == [1, 2, 3]
    assert kept_sums([DIGEST.encode(), b"4 5 6", b"20792"], DIGEST, 3) == [4, 5, 6]


def test_other_queries_or_a_wrong_count_are_added_up_instead() -> None:
    assert kept_sums(["cd" * 20, "1 2 3", "20792"], DIGEST, 3) is None     # another day's
    assert kept_sums([DIGEST, "1 2", "20792"], DIGEST, 3) is None
    assert kept_sums([None, None, "20792"], DIGEST, 3) is None             # none kept yet
    assert kept_sums([DIGEST, None, "20792"], DIGEST, 3) is None


def test_a_hash_that_does_not_exist_sums_to_zeros() -> None:
    assert kept_sums([None, None, None], DIGEST, 4) == [0, 0, 0, 0]


def test_the_digest_is_the_sha1_of_the_queries_text() -> None:
    text = script_queries(user_queries(TODAY), USER_METRICS)
    assert queries_digest(text) == queries_digest(text) != queries_digest(text + " ")
    assert len(queries_digest(text)) == 40 and int(queries_digest(text), 16) >= 0


def test_the_kept_sums_extend_the_scores_with_each_periods_list_parts() -> None:
    kept, score = kept_asked(TODAY), score_asked(TODAY)
    assert kept.queries[:len(score.queries)] == score.queries
    assert user_queries(TODAY) == kept.queries
    values = list(range(len(kept.queries)))
    found = kept.answer(values)
    assert UserSums.kept(values) == UserSums.parse(values[:len(score.queries)])
    today = day_number(TODAY)
    for period, back in zip(PERIODS, (0, 7, 30), strict=True):
        sessions, views, before = list_parts(period)
        assert kept.parts[[n for n, _ in kept.parts].index(sessions)][1] == (
            ("s", today - back, 10**9),)
        assert kept.parts[[n for n, _ in kept.parts].index(views)][1] == (
            ("pv", today - back, 10**9),)
        assert len(found[before]) == 1
    assert [q for q in kept.parts[-1][1]] == [("pv", d, d) for d in range(today - 6, today + 1)]
