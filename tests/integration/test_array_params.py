"""Array parameters sent as one text literal (``array_params``) reach Postgres exactly as the lists they encode."""

import asyncio
from datetime import date

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse_common.array_params import array_parameter, int_array, text_array, text_columns

AWKWARD = [
    "",
    " padded ",
    'a "quoted" word',
    "back\\slash",
    "trailing\\",
    '\\"',
    "comma,brace{}",
    "NULL",
    "null",
    "\x1f",
    "ünïcødé ✓",
    "line\nbreak\ttab",
]

# Postgres text holds any Unicode character but NUL (ingest refuses it) and unpaired surrogates (not UTF-8).
# Postgres text holds any Unicode character but NUL (ingest refuses it) and unpaired surrogates (not UTF-8).
postgres_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


def lists_around(special: str) -> st.SearchStrategy[list[str | None]]:
    """Lists whose text mixes one character an array literal treats specially with plain ones, so that each
    special character is met without the others (a quote anywhere sends the whole list down the escaped path)."""
    return st.lists(st.text(st.sampled_from([special, "a", "é"]), max_size=8), max_size=20)  # type: ignore[return-value]


text_lists = st.one_of(
    st.sampled_from(["\\", '"', ",", "{", "}", " ", "N", "\x1f"]).flatmap(lists_around),
    st.lists(st.one_of(postgres_text, st.none()), max_size=20),
)


async def _round_trip(conn: asyncpg.Connection, literal: str, cast: str) -> list[object]:
    rows = await conn.fetch(f"SELECT x FROM unnest($1::text::{cast}) WITH ORDINALITY AS a(x, n) ORDER BY n", literal)
    return [r["x"] for r in rows]


async def test_awkward_text_and_nulls_arrive_unchanged(pool: asyncpg.Pool) -> None:
    values: list[str | None] = [*AWKWARD, None, "after a null"]
    async with pool.acquire() as conn:
        assert await _round_trip(conn, text_array(values), "text[]") == values
        assert await _round_trip(conn, text_array(AWKWARD), "text[]") == AWKWARD
        assert await _round_trip(conn, text_array([]), "text[]") == []
        for alone in AWKWARD:  # each on its own, with plain neighbours: no other element forces the escaping
            assert await _round_trip(conn, text_array(["plain", alone]), "text[]") == ["plain", alone]
        plain = [f"user-{n}" for n in range(1000)]
        assert await _round_trip(conn, text_array(plain), "text[]") == plain


async def test_integers_and_columns_arrive_unchanged(pool: asyncpg.Pool) -> None:
    numbers = [0, -1, 7, 2**40, -(2**62)]
    rows = [("p", "a\\b", 1), ("p", 'q"r', 2)]
    async with pool.acquire() as conn:
        assert await _round_trip(conn, int_array(numbers), "bigint[]") == numbers
        assert await _round_trip(conn, int_array([]), "bigint[]") == []
        projects, users = text_columns(rows, 2)
        assert await _round_trip(conn, projects, "text[]") == ["p", "p"]
        assert await _round_trip(conn, users, "text[]") == ["a\\b", 'q"r']


async def test_each_kind_of_array_parameter_arrives_unchanged_through_its_placeholder(pool: asyncpg.Pool) -> None:
    columns: list[tuple[str, list[object]]] = [
        ("text", ["a", 'q"r', None]),
        ("int8", [1, -2, 2**40]),
        ("int", [3, 4, 5]),
        ("date", [date(2026, 3, 29), date(2026, 10, 25), date(2026, 12, 7)]),
    ]
    parameters = [array_parameter(i, kind, values) for i, (kind, values) in enumerate(columns, start=1)]
    placeholders = ", ".join(placeholder for placeholder, _ in parameters)
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM unnest({placeholders})", *(value for _, value in parameters))
    assert [list(column) for column in zip(*(tuple(r.values()) for r in rows), strict=True)] == [
        values for _, values in columns
    ]


# The database URL is the same for every example, so a function-scoped fixture is safe to share.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text_lists)
def test_any_list_of_text_arrives_unchanged(database_url: str, values: list[str | None]) -> None:
    async def check() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            assert await _round_trip(conn, text_array(values), "text[]") == values
        finally:
            await conn.close()

    asyncio.run(check())
