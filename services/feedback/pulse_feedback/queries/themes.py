"""Theme reads: comments containing each term per side over a window (packed days and days changed since), term
names, and example comments for the terms chosen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from pulse_feedback.term_vectors import SIDES, Counts, sum_days


@dataclass(frozen=True, slots=True)
class WindowTerms:
    counts: Counts  # (3, ids): comments per side (term_vectors.SIDES) and term id over the window
    unnumbered: dict[int, str]  # ids given here to terms of unpacked days that the packer has not numbered yet


async def window_terms(pool: asyncpg.Pool, project: str, kind: str, first: date, last: date) -> WindowTerms:
    """Comments containing each term per side over the window's local days: packed days from their vectors, days
    changed since packed from term_days, all in one snapshot (a packer commits a vector and its claim together)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        changed = [
            r["day"]
            for r in await conn.fetch(
                "SELECT day FROM feedback.term_days_changed WHERE project = $1 AND kind = $2 AND day BETWEEN $3 AND $4",
                project,
                kind,
                first,
                last,
            )
        ]
        packed = await conn.fetch(
            "SELECT term_ids, bad, neutral, good FROM feedback.term_day_vectors "
            "WHERE project = $1 AND kind = $2 AND day BETWEEN $3 AND $4 AND day <> ALL($5::date[])",
            project,
            kind,
            first,
            last,
            changed,
        )
        loose = (
            await conn.fetch(
                """
                SELECT t.term_id, d.term, d.side, sum(d.responses)::bigint AS responses
                FROM feedback.term_days d
                LEFT JOIN feedback.terms t ON t.project = d.project AND t.term = d.term
                WHERE d.project = $1 AND d.kind = $2 AND d.day = ANY($3::date[])
                GROUP BY t.term_id, d.term, d.side HAVING sum(d.responses) <> 0
                """,
                project,
                kind,
                changed,
            )
            if changed
            else []
        )
    size = max((int(r["term_id"]) for r in loose if r["term_id"] is not None), default=0) + 1
    for vector in packed:
        ids = vector["term_ids"]
        if ids:
            size = max(size, int.from_bytes(ids[-4:], "little") + 1)  # packed in ascending id order
    unnumbered: dict[int, str] = {}
    numbered_here: dict[str, int] = {}
    loose_counts: list[tuple[int, int, int]] = []
    for r in loose:
        term_id = r["term_id"]
        if term_id is None:
            term_id = numbered_here.setdefault(r["term"], size + len(numbered_here))
            unnumbered[term_id] = r["term"]
        loose_counts.append((term_id, SIDES.index(r["side"]), r["responses"]))
    counts = sum_days(
        ((v["term_ids"], v["bad"], v["neutral"], v["good"]) for v in packed),
        loose_counts,
        size + len(numbered_here),
    )
    return WindowTerms(counts, unnumbered)


async def term_names(pool: asyncpg.Pool, project: str, ids: Iterable[int]) -> dict[int, str]:
    rows = await pool.fetch(
        "SELECT term_id, term FROM feedback.terms WHERE project = $1 AND term_id = ANY($2::int[])",
        project,
        sorted(ids),
    )
    return {r["term_id"]: r["term"] for r in rows}


def term_query(term: str) -> str:
    """The tsquery text matching a stored term: its lexemes (already normalized) quoted, a phrase's adjacent."""
    return " <-> ".join("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in term.split(" "))


# Examples are looked for first among this many newest comments of each side: a term worth listing is frequent
# enough to be there, and matching a few hundred comments is far cheaper than an index search per term.
RECENT_COMMENTS = 400

_EXAMPLES = """
WITH wanted AS (SELECT * FROM unnest($5::text[], $6::text[], $7::text[]) AS w(side, term, query)),
searched AS {searched}
SELECT w.side, w.term, e.response_id, e.score, e.comment, e.responded_at
FROM wanted w CROSS JOIN LATERAL (
    SELECT c.response_id, c.score, c.comment, c.responded_at FROM searched c
    WHERE c.side = w.side AND c.comment_search @@ w.query::tsquery
    ORDER BY c.responded_at DESC, c.response_id DESC LIMIT $8
) e
"""
# The newest comments of each side asked for, once for every term.
_RECENT = """MATERIALIZED (
    SELECT s.side, c.* FROM (SELECT DISTINCT side FROM wanted) s CROSS JOIN LATERAL (
        SELECT r.response_id, r.score, r.comment, r.responded_at, r.comment_search FROM feedback.responses r
        WHERE r.project = $1 AND r.kind = $2 AND r.side = s.side AND r.responded_at >= $3 AND r.responded_at < $4
          AND r.comment_search IS NOT NULL
        ORDER BY r.responded_at DESC, r.response_id DESC LIMIT $9
    ) c
)"""
# Every comment of the window (through the text index): for the terms the newest comments did not hold twice.
_ALL = """(
    SELECT r.side, r.response_id, r.score, r.comment, r.responded_at, r.comment_search FROM feedback.responses r
    WHERE r.project = $1 AND r.kind = $2 AND r.responded_at >= $3 AND r.responded_at < $4
)"""


async def examples(
    pool: asyncpg.Pool,
    project: str,
    kind: str,
    window: tuple[datetime, datetime],
    wanted: Sequence[tuple[str, str]],
    per_term: int = 2,
) -> dict[tuple[str, str], list[dict[str, object]]]:
    """For each (side, term): the newest ``per_term`` comments of that side in the window containing the term."""
    found: dict[tuple[str, str], list[dict[str, object]]] = {key: [] for key in wanted}
    recent_sql = _EXAMPLES.format(searched=_RECENT)
    found.update(await _search(pool, recent_sql, project, kind, window, wanted, per_term, RECENT_COMMENTS))
    # A term missing from the newest comments (or there once) is looked for in all of them; the newest-first
    # order makes the first pass's finds the right ones whenever it found enough.
    missing = [key for key in wanted if len(found[key]) < per_term]
    if missing:
        found.update(await _search(pool, _EXAMPLES.format(searched=_ALL), project, kind, window, missing, per_term))
    return found


async def _search(
    pool: asyncpg.Pool,
    sql: str,
    project: str,
    kind: str,
    window: tuple[datetime, datetime],
    wanted: Sequence[tuple[str, str]],
    per_term: int,
    *more: object,
) -> dict[tuple[str, str], list[dict[str, object]]]:
    if not wanted:
        return {}
    rows = await pool.fetch(
        sql,
        project,
        kind,
        window[0],
        window[1],
        [side for side, _ in wanted],
        [term for _, term in wanted],
        [term_query(term) for _, term in wanted],
        per_term,
        *more,
    )
    found: dict[tuple[str, str], list[dict[str, object]]] = {}
    for r in rows:
        found.setdefault((r["side"], r["term"]), []).append(
            {
                "response_id": str(r["response_id"]),
                "score": r["score"],
                "comment": r["comment"],
                "timestamp": r["responded_at"].isoformat(),
            }
        )
    return found
