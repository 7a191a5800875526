"""Sections, slow pages, truncated means and the profile's key pages."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.pages import (
    DEFAULT_SECTIONS,
    KEY_PAGES,
    SLOW_PAGE_MS,
    is_key_page,
    is_slow,
    sections_of,
    truncated_mean,
)

paths = st.text(alphabet="/abcfmorsz_%", max_size=20)


def test_default_sections_are_the_reference_map_in_order() -> None:
    # A list of pairs, not a dict, so that the order is compared too.
    assert [(name, list(prefixes)) for name, prefixes in DEFAULT_SECTIONS.items()] == [
        ("Strona główna", ["/"]),
        ("Profile firm", ["/company/"]),
        ("Forum", ["/forum"]),
        ("Chat", ["/chat"]),
        ("Wyszukiwarka", ["/search", "/szukaj"]),
        ("Wydarzenia", ["/events", "/wydarzenia"]),
        ("Ogłoszenia", ["/classifieds", "/ogloszenia"]),
        ("Członkostwo", ["/membership", "/czlonkostwo"]),
        ("Admin", ["/admin"]),
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ["Strona główna"]),
        ("/company/acme", ["Profile firm"]),
        ("/company/", ["Profile firm"]),
        ("/company", []),  # the prefix has a trailing slash
        ("/forum", ["Forum"]),
        ("/forum/thread/7", ["Forum"]),
        ("/forumowicze", ["Forum"]),  # a prefix, not a path segment
        ("/szukaj", ["Wyszukiwarka"]),
        ("/szukaj?q=okna", ["Wyszukiwarka"]),
        ("/search", ["Wyszukiwarka"]),
        ("/wydarzenia/12", ["Wydarzenia"]),
        ("/ogloszenia", ["Ogłoszenia"]),
        ("/czlonkostwo", ["Członkostwo"]),
        ("/admin/users", ["Admin"]),
        ("/Forum", []),  # case-sensitive
        ("/about", []),
        ("", []),
        ("forum", []),
    ],
)
def test_default_sections_of_a_path(path: str, expected: list[str]) -> None:
    assert sections_of(path) == expected


def test_a_lone_slash_prefix_matches_only_the_home_page() -> None:
    for prefixes in (["/"], ("/",)):
        sections = {"Home": prefixes, "Everything": ["/", "/home"]}
        assert sections_of("/", sections) == ["Home", "Everything"]
        # With another prefix beside it, "/" is an ordinary prefix again (LIKE '/%').
        assert sections_of("/x", sections) == ["Everything"]


def test_overlapping_sections_each_count_in_map_order() -> None:
    sections: dict[str, Sequence[str]] = {"A": ["/a"], "AB": ["/ab"], "Other": ["/b", "/abc"]}
    assert sections_of("/abc/d", sections) == ["A", "AB", "Other"]
    assert sections_of("/ab", sections) == ["A", "AB"]
    assert sections_of("/abc", dict(reversed(sections.items()))) == ["Other", "AB", "A"]
    assert sections_of("/a", {}) == []


def test_prefixes_are_literal_text_and_must_be_lists() -> None:
    assert sections_of("/axb", {"U": ["/a_b"], "P": ["/a%"]}) == []
    assert sections_of("/a_b/c", {"U": ["/a_b"]}) == ["U"]
    with pytest.raises(TypeError, match="list of strings"):
        sections_of("/forum", {"Forum": "/forum"})


@given(paths)
def test_sections_of_is_prefix_matching(path: str) -> None:
    result = sections_of(path)
    assert result == [name for name in DEFAULT_SECTIONS if name in result]  # map order
    for name, prefixes in DEFAULT_SECTIONS.items():
        expected = path == "/" if name == "Strona główna" else path.startswith(tuple(prefixes))
        assert (name in result) == expected


@pytest.mark.parametrize(
    ("load", "slow"), [(None, False), (0, False), (3000, False), (3001, True), (60000, True)]
)
def test_slow_is_over_3000_ms(load: int | None, slow: bool) -> None:
    assert SLOW_PAGE_MS == 3000
    assert is_slow(load) is slow


@pytest.mark.parametrize(
    ("total", "count", "mean"),
    [(0, 0, 0), (7, 0, 0), (8, 4, 2), (10, 4, 2), (11, 4, 2), (99, 100, 0), (100, 100, 1)],
)
def test_truncated_mean(total: int, count: int, mean: int) -> None:
    assert truncated_mean(total, count) == mean


def test_truncated_mean_is_exact_where_float_division_rounds_up() -> None:
    total, count = 10**18 - 1, 10**18
    assert int(total / count) == 1  # the float quotient rounds to 1.0
    assert truncated_mean(total, count) == 0
    with pytest.raises(ValueError, match="negative"):
        truncated_mean(1, -1)


@given(st.integers(0, 10**12), st.integers(1, 10**6))
def test_truncated_mean_is_the_floor_of_the_mean(total: int, count: int) -> None:
    mean = truncated_mean(total, count)
    assert mean * count <= total < (mean + 1) * count


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/", True), ("/forum", True), ("/forum/thread/7", True), ("/chat", True),
        ("/search/q", True), ("/admin", True), ("/events/3", True), ("/membership", True),
        ("/company/acme", True), ("/pl/company/acme/about", True),
        ("//", True), ("//x", True),  # "below /" is "starts with //", as the reference reads
        ("/forumx", False), ("/Forum", False), ("/company", False), ("/szukaj", False),
        ("/wydarzenia", False), ("/classifieds", False), ("/about", False), ("", False),
    ],
)
def test_key_pages(path: str, key: bool) -> None:
    assert is_key_page(path) is key


@given(paths)
def test_key_page_rule(path: str) -> None:
    below = any(path == p or path.startswith(p + "/") for p in KEY_PAGES)
    assert is_key_page(path) == (below or "/company/" in path)
