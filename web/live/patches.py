"""JSON Patch (RFC 6902) between two versions of a live document.

A socket that asks for patches (``?patch=json``) gets the whole document first and
then, for each new version, only what changed: ``{"v": N, "patch": [...]}``. The
patch turns version N-1 into N; a socket that missed a version (its one-slot
mailbox kept only the newest) gets ``{"v": N, "doc": {...}}`` again. Objects are
compared key by key. A list of rows that each name a user, a path or a transition
(the tabs' ranked lists) is compared row by row by that identity: a row that left
is removed, a new one added where it belongs, one that changed place moved there
(``move``), and the rest compared field by field, so a ranking that reshuffles
sends a few small operations, not the list. Other arrays of the same length are
compared element by element; otherwise they are replaced whole.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

Op = dict[str, Any]


def diff(old: Any, new: Any, path: str = "") -> list[Op]:
    """The operations that turn ``old`` into ``new`` (JSON values), shortest first by
    the rules in the module docstring; [] when equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[Op] = []
        for key, value in new.items():
            where = f"{path}/{pointer(key)}"
            if key not in old:
                ops.append({"op": "add", "path": where, "value": value})
            else:
                ops += diff(old[key], value, where)
        ops += [{"op": "remove", "path": f"{path}/{pointer(key)}"}
                for key in old if key not in new]
        return ops
    if isinstance(old, list) and isinstance(new, list):
        keyed = _keyed(old, new, path)
        if keyed is not None:
            return keyed
        if len(old) == len(new):
            return [op for i, (a, b) in enumerate(zip(old, new, strict=True))
                    for op in diff(a, b, f"{path}/{i}")]
    if _same(old, new):
        return []
    return [{"op": "replace", "path": path, "value": new}]


def _identity(row: Any) -> Hashable | None:
    """What a ranked row is about: its user's id, its path, or its transition."""
    if not isinstance(row, dict):
        return None
    user = row.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), int):
        return ("user", user["id"])
    if isinstance(row.get("from"), str) and isinstance(row.get("to"), str):
        return ("step", row["from"], row["to"])
    if isinstance(row.get("path"), str):
        return ("path", row["path"])
    return None


def _keyed(old: list[Any], new: list[Any], path: str) -> list[Op] | None:
    """``old`` into ``new`` row by row by identity (None: rows without one, or twice)."""
    old_ids, new_ids = [_identity(r) for r in old], [_identity(r) for r in new]
    ids = old_ids + new_ids
    if not ids or None in ids or len(set(old_ids)) < len(old) or len(set(new_ids)) < len(new):
        return None
    wanted = set(new_ids)
    ops: list[Op] = []
    rows = list(zip(old_ids, old, strict=True))
    for i in range(len(rows) - 1, -1, -1):          # gone: removed from the end first
        if rows[i][0] not in wanted:
            ops.append({"op": "remove", "path": f"{path}/{i}"})
            del rows[i]
    for j, (key, row) in enumerate(zip(new_ids, new, strict=True)):
        at = next((i for i in range(j, len(rows)) if rows[i][0] == key), None)
        if at is None:
            ops.append({"op": "add", "path": f"{path}/{j}", "value": row})
            rows.insert(j, (key, row))
            continue
        if at != j:
            ops.append({"op": "move", "from": f"{path}/{at}", "path": f"{path}/{j}"})
            rows.insert(j, rows.pop(at))
        ops += diff(rows[j][1], row, f"{path}/{j}")
    return ops


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python, but not in JSON: the type counts too.
    return type(a) is type(b) and a == b


def pointer(key: str) -> str:
    """A key as a JSON Pointer reference token (RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return key.replace("~", "~0").replace("/", "~1")
