"""The page's JSON Patch applier (``web/static/patch.js``) in headless Chromium agrees
with the server's patches (``web.live.patches``): each patch turns the old document into
the new one, for random documents and rankings."""

from __future__ import annotations

import copy
import random
from typing import Any

from playwright.sync_api import Browser

from tests.e2e.pages import desktop
from web.live.patches import diff

APPLY = """async (cases) => {
  const { applyPatch } = await import('/static/patch.js');
  return cases.map((c) => applyPatch(structuredClone(c.old), c.ops));
}"""


def _rows(rng: random.Random) -> list[dict[str, Any]]:
    return [{"user": {"id": uid, "name": f"U{uid}"}, "score": rng.randint(0, 5),
             "wow": rng.choice([None, 1, -2])}
            for uid in rng.sample(range(30), rng.randint(0, 12))]


def _document(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {"card": rng.randint(0, 3), "rows": _rows(rng),
                           "list": [rng.randint(0, 2) for _ in range(rng.randint(0, 3))],
                           "odd keys": {"a/b": rng.randint(0, 1), "~": rng.choice([None, 1])}}
    if rng.random() < 0.5:
        doc["sometimes"] = {"x": [1, {"y": 2}]}
    return doc


def test_the_page_applies_the_servers_patches(browser: Browser, web_url: str) -> None:
    rng = random.Random(7)
    pairs = [(_document(rng), _document(rng)) for _ in range(500)]
    cases = [{"old": old, "ops": diff(old, new)} for old, new in pairs]
    assert any(op["op"] == "move" for case in cases for op in case["ops"])
    context, page, errors = desktop(browser)
    page.goto(f"{web_url}/login")
    got = page.evaluate(APPLY, copy.deepcopy(cases))
    assert got == [new for _, new in pairs]
    context.close()
    assert errors == []
