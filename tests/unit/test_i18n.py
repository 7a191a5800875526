"""The page's strings: every English key has its Polish one and back, and every key the
scripts ask for by name exists (keys built at run time, like ``status.${s}``, are not
checked here; the browser tests render them)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
KEY = re.compile(r"^\s+'([^']+)':", re.M)


def _dictionaries() -> dict[str, set[str]]:
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    en = text[text.index("const en = {"):text.index("const pl = {")]
    pl = text[text.index("const pl = {"):text.index("const DICTIONARIES")]
    return {"en": set(KEY.findall(en)), "pl": set(KEY.findall(pl))}


def test_english_and_polish_have_the_same_keys() -> None:
    found = _dictionaries()
    assert len(found["en"]) > 100
    assert found["en"] - found["pl"] == set()
    assert found["pl"] - found["en"] == set()


def test_every_key_a_script_names_exists() -> None:
    known = _dictionaries()["en"]
    asked = set()
    for script in STATIC.rglob("*.js"):
        if "vendor" in script.parts:
            continue
        asked |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_.]+)'", script.read_text(encoding="utf-8")))
    assert asked, "no t('...') call found"
    assert asked - known == set()
