"""``array_literal`` against a real PostgreSQL: any text comes back as it went in."""

from __future__ import annotations

from contextlib import closing

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.database import array_literal, connect

# PostgreSQL text cannot hold NUL; everything else must survive, quotes and braces too.
texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                max_size=20)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(texts, max_size=10))
def test_text_arrays_round_trip(database_url: str, values: list[str]) -> None:
    with closing(connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(array_agg(x ORDER BY n), '{}') FROM "
                    "unnest(%s::text[]) WITH ORDINALITY AS t(x, n)", (array_literal(values),))
        assert cur.fetchone()[0] == values  # type: ignore[index]


def test_integer_arrays_and_the_literal_null_text(database_url: str) -> None:
    with closing(connect(database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT %s::bigint[], %s::text[]",
                    (array_literal([3, -1, 2**40]), array_literal(["NULL", '{"a",b}', "\\"])))
        assert cur.fetchone() == ([3, -1, 2**40], ["NULL", '{"a",b}', "\\"])
