"""Theme reads: comments containing each term per side over a window (from the term-day rollup), and example
comments for the terms chosen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

SideCounts = dict[str, dict[str, int]]  # side -> term -> comments


async def term_counts(pool: asyncpg.Pool, project: str, kind: str, first: date, last: date) -> SideCounts:
    rows = await pool.fetch(
        """
        SELECT side, term, sum(responses)::bigint AS responses FROM feedback.term_days
        WHERE project = $1 AND kind = $2 AND day BETWEEN $3 AND $4
        GROUP BY side, term HAVING sum(responses) > 0
        """,
        project,
        kind,
        first,
        last,
    )
    counts: SideCounts = {"bad": {}, "neutral": {}, "good": {}}
    for r in rows:
        counts[r["side"]][r["term"]] = r["responses"]
    return counts


def term_query(term: str) -> str:
    """The tsquery text matching a stored term: its lexemes (already normalized) quoted, a phrase's adjacent."""
    return " <-> ".join("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in term.split(" "))


async def examples(
    pool: asyncpg.Pool,
    project: str,
    kind: str,
    window: tuple[datetime, datetime],
    wanted: Sequence[tuple[str, str]],
    per_term: int = 2,
) -> dict[tuple[str, str], list[dict[str, object]]]:
    """For each (side, term): the newest ``per_term`` comments of that side in the window containing the term."""
    if not wanted:
        return {}
    rows = await pool.fetch(
        """
        SELECT w.side, w.term, e.response_id, e.score, e.comment, e.responded_at
        FROM unnest($5::text[], $6::text[], $7::text[]) AS w(side, term, query)
        CROSS JOIN LATERAL (
            SELECT r.response_id, r.score, r.comment, r.responded_at FROM feedback.responses r
            WHERE r.project = $1 AND r.kind = $2 AND r.side = w.side
              AND r.responded_at >= $3 AND r.responded_at < $4 AND r.comment_search @@ w.query::tsquery
            ORDER BY r.responded_at DESC, r.response_id DESC LIMIT $8
        ) e
        """,
        project,
        kind,
        window[0],
        window[1],
        [side for side, _ in wanted],
        [term for _, term in wanted],
        [term_query(term) for _, term in wanted],
        per_term,
    )
    found: dict[tuple[str, str], list[dict[str, object]]] = {key: [] for key in wanted}
    for r in rows:
        found[(r["side"], r["term"])].append(
            {
                "response_id": str(r["response_id"]),
                "score": r["score"],
                "comment": r["comment"],
                "timestamp": r["responded_at"].isoformat(),
            }
        )
    return found
