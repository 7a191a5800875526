"""JSON Patch between live document versions (``web.live.patches``), applied by an
independent RFC 6902 implementation (``jsonpatch``)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.live.patches import diff, pointer

scalars = (st.none() | st.booleans() | st.integers(-5, 5)
           | st.floats(allow_nan=False, width=32) | st.text(max_size=3))
keys = st.sampled_from(["a", "b", "~", "/", "a/b", "~1", "", "x"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(keys, inner, max_size=3), max_leaves=8)


@settings(suppress_health_check=[HealthCheck.too_slow])     # slow machines under load
@given(st.dictionaries(keys, values, max_size=5), st.dictionaries(keys, values, max_size=5))
def test_the_patch_turns_the_old_version_into_the_new_one(old: dict[str, Any],
                                                            new: dict[str, Any]) -> None:
    ops = diff(old, new)
    assert jsonpatch.apply_patch(copy.deepcopy(old), ops) == new
    assert all(op["path"].startswith("/") for op in ops)      # never the whole document


@given(st.dictionaries(keys, values, max_size=5))
def test_an_unchanged_document_needs_no_operation(doc: dict[str, Any]) -> None:
    assert diff(doc, copy.deepcopy(doc)) == []


def test_only_the_changed_fields_of_a_listed_row_are_sent() -> None:
    rows = [{"user": {"id": i, "name": f"U{i}"}, "score": i, "wow": None} for i in range(50)]
    old = {"failed_logins": 3, "problem_users": rows, "freshness": {"lag": 0}}
    new = copy.deepcopy(old)
    new["failed_logins"] = 4
    new["problem_users"][7]["score"] = 70
    new["problem_users"][9]["wow"] = 12
    assert diff(old, new) == [
        {"op": "replace", "path": "/failed_logins", "value": 4},
        {"op": "replace", "path": "/problem_users/7/score", "value": 70},
        {"op": "replace", "path": "/problem_users/9/wow", "value": 12},
    ]


def test_a_list_that_grew_is_replaced_whole_and_types_count() -> None:
    assert diff({"l": [1]}, {"l": [1, 2]}) == [{"op": "replace", "path": "/l", "value": [1, 2]}]
    assert diff({"n": 1}, {"n": 1.0}) == [{"op": "replace", "path": "/n", "value": 1.0}]
    assert diff({"n": 1}, {"n": True}) == [{"op": "replace", "path": "/n", "value": True}]
    assert diff({"a": 1}, {}) == [{"op": "remove", "path": "/a"}]


def test_keys_are_escaped_as_json_pointers() -> None:
    assert pointer("a/b~c") == "a~1b~0c"
    assert diff({}, {"/p~": 1}) == [{"op": "add", "path": "/~1p~0", "value": 1}]


ranked_rows = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 3)), max_size=10,
                       unique_by=lambda r: r[0]).map(
    lambda rows: [{"user": {"id": uid, "name": f"U{uid}"}, "score": score}
                  for uid, score in rows])


@given(ranked_rows, ranked_rows)
def test_ranked_rows_are_patched_by_identity(old: list[Any], new: list[Any]) -> None:
    ops = diff({"rows": old}, {"rows": new})
    assert jsonpatch.apply_patch({"rows": copy.deepcopy(old)}, ops) == {"rows": new}
    assert not any(op["op"] == "replace" and op["path"] == "/rows" for op in ops)


def test_a_reshuffled_ranking_sends_moves_and_changed_fields_only() -> None:
    rows = [{"user": {"id": i, "name": f"U{i}"}, "score": 100 - i} for i in range(50)]
    new = copy.deepcopy(rows)
    climber = new.pop(30)
    climber["score"] = 99
    new.insert(1, climber)                         # user 30 climbs to second place
    new.append({"user": {"id": 99, "name": "New"}, "score": 1})
    del new[10]                                    # user 9 (now 10th) leaves
    ops = diff({"l": rows}, {"l": new})
    assert ops == [
        {"op": "remove", "path": "/l/9"},
        {"op": "move", "from": "/l/29", "path": "/l/1"},
        {"op": "replace", "path": "/l/1/score", "value": 99},
        {"op": "add", "path": "/l/49", "value": {"user": {"id": 99, "name": "New"}, "score": 1}},
    ]
    assert jsonpatch.apply_patch({"l": rows}, ops) == {"l": new}
