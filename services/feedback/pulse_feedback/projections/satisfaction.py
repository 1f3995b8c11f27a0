"""The satisfaction projection (product.md §6): every response from ``pulse.feedback.v1`` with its comment indexed
for search, the score-day rollups scores and breakdowns sum, and the term-day rollups themes compare. A user's
deletion removes their responses and subtracts them from the rollups, in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from uuid import UUID

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import FeedbackStreamEvent
from pulse_common.runner import SourceRecord
from pulse_common.zones import ProjectZones
from pulse_feedback.projections.response_rows import (
    ResponseRow,
    ScoreDayKey,
    UserKey,
    dimension_values,
    response_row,
    score_day_changes,
    surviving_responses,
)
from pulse_feedback.projections.user_locks import DEFAULT_LANGUAGE, lock_users, share_languages

Groups = tuple[tuple[str, str], ...]
# The context rollup groups (trait values, features adopted) of the response row in scope, as two arrays.
CONTEXT_GROUPS = (
    "ARRAY(SELECT g.dimension FROM feedback.context_groups(traits, adopted) g) AS dimensions, "
    "ARRAY(SELECT g.value FROM feedback.context_groups(traits, adopted) g) AS group_values"
)


def groups_of(dimensions: Sequence[str], values: Sequence[str]) -> Groups:
    return tuple(zip(dimensions, values, strict=True))


class SatisfactionProjection:
    name = "feedback.satisfaction"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.FEEDBACK) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], FeedbackStreamEvent] = codec.decoder_for(FeedbackStreamEvent)
        self.zones = ProjectZones()

    def decode(self, record: SourceRecord) -> FeedbackStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[FeedbackStreamEvent]) -> None:
        zones = await self.zones.load(conn, (e.project for e in events))
        kept, erased = surviving_responses([e for e in events if e.project in zones])
        users = {(r.project, r.distinct_id) for r in kept} | set(erased)
        if not users:
            return
        await lock_users(conn, sorted(users))
        await share_languages(conn, sorted({project for project, _ in users}))
        changes: Counter[ScoreDayKey] = Counter()
        if erased:
            changes.update(await erase_responses(conn, erased))  # (+= would drop the negative counts)
        rows = [response_row(event, zones[event.project]) for event in kept]
        inserted = await insert_responses(conn, rows)
        written = [row for row in rows if (row.project, row.response_id) in inserted]
        changes.update(
            score_day_changes(
                (
                    (r.project, r.kind, r.day, r.score, r.dimension_values() + inserted[(r.project, r.response_id)])
                    for r in written
                ),
                +1,
            )
        )
        await add_terms(conn, [(r.project, r.response_id) for r in written if r.comment], +1)
        await add_score_days(conn, changes)


async def insert_responses(conn: Connection, rows: Sequence[ResponseRow]) -> dict[tuple[str, UUID], Groups]:
    """Insert responses (their traits and adopted features as of the end of their local day, their comment indexed
    in the project's language); returns, per (project, response id) inserted, its context rollup groups."""
    if not rows:
        return {}
    columns = [
        "project",
        "response_id",
        "kind",
        "score",
        "side",
        "responded_at",
        "day",
        "day_end",
        "distinct_id",
        "user_id",
        "anonymous_id",
        "comment",
        "feature",
        "release",
        "channel",
        "survey",
        "properties",
        "received_at",
    ]
    inserted = await conn.fetch(
        f"""
        INSERT INTO feedback.responses ({", ".join(columns)}, comment_search, traits, adopted)
        SELECT {", ".join("r." + c for c in columns[:-2])}, r.properties::jsonb, r.received_at,
               to_tsvector(coalesce(l.language, '{DEFAULT_LANGUAGE}'::regconfig), r.comment),
               feedback.traits_at(r.project, r.distinct_id, r.day_end),
               feedback.adopted_at(r.project, r.distinct_id, r.day_end)
        FROM unnest($1::text[], $2::uuid[], $3::text[], $4::smallint[], $5::text[], $6::timestamptz[], $7::date[],
                    $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
                    $15::text[], $16::text[], $17::text[], $18::timestamptz[]) AS r({", ".join(columns)})
        LEFT JOIN feedback.text_settings l ON l.project = r.project
        ON CONFLICT (project, response_id) DO NOTHING
        RETURNING project, response_id, {CONTEXT_GROUPS}
        """,
        *([getattr(row, c) for row in rows] for c in columns),
    )
    return {(r["project"], r["response_id"]): groups_of(r["dimensions"], r["group_values"]) for r in inserted}


async def add_score_days(conn: Connection, changes: Counter[ScoreDayKey]) -> None:
    keys = sorted(k for k, v in changes.items() if v)
    if not keys:
        return
    await conn.execute(
        """
        INSERT INTO feedback.score_days AS s (project, kind, dimension, value, day, score, responses)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::smallint[], $7::bigint[])
        ON CONFLICT (project, kind, dimension, value, day, score) DO UPDATE
        SET responses = s.responses + excluded.responses
        """,
        *([k[i] for k in keys] for i in range(6)),
        [changes[k] for k in keys],
    )


# Each comment counts a term once: its lexemes (the project's language: stemmed, stop words dropped) and each pair
# of adjacent lexemes (a phrase).
_TERMS = """
WITH chosen AS (
    SELECT r.project, r.response_id, r.kind, r.day, r.side, r.comment_search
    FROM unnest($1::text[], $2::uuid[]) AS k(project, response_id)
    CROSS JOIN LATERAL (
        SELECT * FROM feedback.responses r
        WHERE r.project = k.project AND r.response_id = k.response_id AND r.comment_search IS NOT NULL
        OFFSET 0
    ) r
),
words AS (
    SELECT c.project, c.response_id, c.kind, c.day, c.side, w.lexeme, p.pos
    FROM chosen c, unnest(c.comment_search) AS w, unnest(w.positions) AS p(pos)
),
terms AS (
    SELECT project, response_id, kind, day, side, lexeme AS term FROM words
    UNION
    SELECT a.project, a.response_id, a.kind, a.day, a.side, a.lexeme || ' ' || b.lexeme
    FROM words a JOIN words b ON b.project = a.project AND b.response_id = a.response_id AND b.pos = a.pos + 1
)
"""


async def add_terms(conn: Connection, responses: Sequence[tuple[str, UUID]], sign: int) -> None:
    """Add (sign +1) or subtract (-1) the terms of these stored responses' comments to the term-day rollup."""
    if not responses:
        return
    await conn.execute(
        _TERMS
        + """
        INSERT INTO feedback.term_days AS t (project, kind, day, side, term, responses)
        SELECT project, kind, day, side, term, $3 * count(*) FROM terms
        GROUP BY project, kind, day, side, term
        ORDER BY project, kind, day, side, term
        ON CONFLICT (project, kind, day, side, term) DO UPDATE SET responses = t.responses + excluded.responses
        """,
        [p for p, _ in responses],
        [r for _, r in responses],
        sign,
    )
    await mark_term_days_changed(conn, responses)


async def mark_term_days_changed(conn: Connection, responses: Sequence[tuple[str, UUID]]) -> None:
    """List the days of these responses' comments as changed since packed (term_vectors). An update, not a bare
    insert, so a packer that already claimed the day waits for this transaction and reads its counts."""
    await conn.execute(
        """
        INSERT INTO feedback.term_days_changed AS c (project, kind, day, changed_at)
        SELECT DISTINCT r.project, r.kind, r.day, now()
        FROM unnest($1::text[], $2::uuid[]) AS k(project, response_id)
        CROSS JOIN LATERAL (
            SELECT r.project, r.kind, r.day FROM feedback.responses r
            WHERE r.project = k.project AND r.response_id = k.response_id AND r.comment_search IS NOT NULL
            OFFSET 0
        ) r
        ORDER BY 1, 2, 3
        ON CONFLICT (project, kind, day) DO UPDATE SET changed_at = excluded.changed_at
        """,
        [p for p, _ in responses],
        [r for _, r in responses],
    )


async def erase_responses(conn: Connection, users: Sequence[UserKey]) -> Counter[ScoreDayKey]:
    """Remove every response of these users and their terms; returns the score-day changes that remove them."""
    rows = await conn.fetch(
        f"""
        SELECT r.project, r.response_id, r.kind, r.day, r.score, r.feature, r.release, r.channel, r.survey,
               r.comment_search IS NOT NULL AS has_terms, {CONTEXT_GROUPS}
        FROM unnest($1::text[], $2::text[]) AS u(project, distinct_id)
        CROSS JOIN LATERAL (
            SELECT * FROM feedback.responses r WHERE r.project = u.project AND r.distinct_id = u.distinct_id OFFSET 0
        ) r
        """,
        [u[0] for u in users],
        [u[1] for u in users],
    )
    if not rows:
        return Counter()
    changes = score_day_changes(
        (
            (
                r["project"],
                r["kind"],
                r["day"],
                r["score"],
                dimension_values(r["feature"], r["release"], r["channel"], r["survey"])
                + groups_of(r["dimensions"], r["group_values"]),
            )
            for r in rows
        ),
        -1,
    )
    await add_terms(conn, [(r["project"], r["response_id"]) for r in rows if r["has_terms"]], -1)
    await conn.execute(
        "DELETE FROM feedback.responses r USING unnest($1::text[], $2::uuid[]) AS k(project, response_id) "
        "WHERE r.project = k.project AND r.response_id = k.response_id",
        [r["project"] for r in rows],
        [r["response_id"] for r in rows],
    )
    return changes
