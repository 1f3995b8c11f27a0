"""Score reads: responses per local day and score for a window (from the score-day rollup when one group holds
exactly the responses asked for, else from the responses), and breakdowns per group."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

import asyncpg

from pulse_feedback.queries.filters import ResponseFilter

DayCount = tuple[date, int, int]  # (local day, score, responses)


async def day_counts(pool: asyncpg.Pool, wanted: ResponseFilter) -> list[DayCount]:
    group = wanted.rollup_group()
    if group is not None:
        rows = await pool.fetch(
            """
            SELECT day, score, sum(responses)::bigint AS responses FROM feedback.score_days
            WHERE kind = $2 AND project = $1 AND dimension = $3 AND value = $4 AND day BETWEEN $5 AND $6
            GROUP BY day, score HAVING sum(responses) > 0
            """,
            wanted.project,
            wanted.kind,
            group[0],
            group[1],
            wanted.first,
            wanted.last,
        )
    else:
        conditions, values = wanted.row_conditions(5)
        rows = await pool.fetch(
            f"""
            SELECT r.day, r.score, count(*) AS responses FROM feedback.responses r
            WHERE r.kind = $2 AND r.project = $1 AND r.day BETWEEN $3 AND $4{conditions}
            GROUP BY r.day, r.score
            """,
            wanted.project,
            wanted.kind,
            wanted.first,
            wanted.last,
            *values,
        )
    return [(r["day"], r["score"], r["responses"]) for r in rows]


GroupHistograms = dict[str | None, Counter[int]]


def _histograms(rows: Sequence[asyncpg.Record]) -> GroupHistograms:
    groups: GroupHistograms = {}
    for r in rows:
        groups.setdefault(r["grp"], Counter())[r["score"]] += r["responses"]
    return groups


async def by_dimension(pool: asyncpg.Pool, wanted: ResponseFilter, dimension: str) -> GroupHistograms:
    """Per group of a rollup dimension: feature / release / channel / survey (None: responses that gave none),
    ``trait:<name>`` (the value at the end of the response's local day) or ``adopted``."""
    rows = await pool.fetch(
        """
        SELECT nullif(value, '') AS grp, score, sum(responses)::bigint AS responses FROM feedback.score_days
        WHERE kind = $2 AND project = $1 AND dimension = $3 AND day BETWEEN $4 AND $5
        GROUP BY value, score HAVING sum(responses) > 0
        """,
        wanted.project,
        wanted.kind,
        dimension,
        wanted.first,
        wanted.last,
    )
    return _histograms(rows)


async def _window_total(pool: asyncpg.Pool, wanted: ResponseFilter) -> Counter[int]:
    total: Counter[int] = Counter()
    for _, score, responses in await day_counts(pool, wanted):
        total[score] += responses
    return total


def _rest(total: Counter[int], groups: GroupHistograms) -> Counter[int]:
    """The responses of ``total`` in none of ``groups``."""
    rest = Counter(total)
    for histogram in groups.values():
        rest.subtract(histogram)
    return +rest  # drops zero counts


async def by_trait(pool: asyncpg.Pool, wanted: ResponseFilter, trait: str) -> GroupHistograms:
    """Per value of the trait at the end of the response's local day (None: the user had no such trait then)."""
    groups = await by_dimension(pool, wanted, f"trait:{trait}")
    rest = _rest(await _window_total(pool, wanted), groups)
    if rest:
        groups[None] = rest
    return groups


async def by_adoption(pool: asyncpg.Pool, wanted: ResponseFilter, feature: str) -> GroupHistograms:
    """Respondents who had used ``feature`` by the end of their response's local day ('adopters') vs not."""
    adopters = (await by_dimension(pool, wanted, "adopted")).get(feature, Counter())
    groups: GroupHistograms = {"adopters": adopters} if adopters else {}
    rest = _rest(await _window_total(pool, wanted), groups)
    if rest:
        groups["non_adopters"] = rest
    return groups


async def by_crash(pool: asyncpg.Pool, wanted: ResponseFilter) -> GroupHistograms:
    """Respondents with a crashed session in the window ('crashed') vs those without ('not_crashed'): the crashed
    users' responses are looked up by user (they are few), the others are the rest of the window's total."""
    rows = await pool.fetch(
        """
        WITH crashed AS (
            SELECT DISTINCT c.distinct_id FROM feedback.crash_days c
            WHERE c.project = $1 AND c.day BETWEEN $3 AND $4
        )
        SELECT 'crashed' AS grp, r.score, count(*) AS responses
        FROM crashed c JOIN feedback.responses r ON r.distinct_id = c.distinct_id AND r.project = $1
        WHERE r.kind = $2 AND r.day BETWEEN $3 AND $4
        GROUP BY r.score
        """,
        wanted.project,
        wanted.kind,
        wanted.first,
        wanted.last,
    )
    groups = _histograms(rows)
    rest = _rest(await _window_total(pool, wanted), groups)
    if rest:
        groups["not_crashed"] = rest
    return groups
