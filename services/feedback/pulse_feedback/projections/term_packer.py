"""The term packer: copies each day whose term counts changed (feedback.term_days_changed) into its packed row
(feedback.term_day_vectors), numbering new terms of the project on the way. It runs beside the feedback consumer's
projections; until a day is packed, theme reads take it from term_days, so packing changes speed, never results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date

import asyncpg

from pulse_common.db import Connection, advisory_locks
from pulse_feedback.projections.user_locks import share_languages
from pulse_feedback.term_vectors import pack

log = logging.getLogger(__name__)

DayKey = tuple[str, str, date]  # (project, kind, local day)


async def pack_changed_days(pool: asyncpg.Pool, *, limit: int = 1000) -> int:
    """Pack up to ``limit`` changed days, oldest change first; returns how many were packed. (Packing a day costs
    about what one theme read of it from term_days costs, so today is packed again on every round.)"""
    rows = await pool.fetch(
        "SELECT project, kind, day FROM feedback.term_days_changed ORDER BY changed_at LIMIT $1", limit
    )
    packed = 0
    for row in rows:
        async with pool.acquire() as conn, conn.transaction():
            packed += await pack_day(conn, (row["project"], row["kind"], row["day"]))
    return packed


async def pack_day(conn: Connection, key: DayKey) -> int:
    """Pack one day in the caller's transaction; 0 when another packer took it first."""
    project, kind, day = key
    # The language steady (a switch re-indexes every term) and one packer per project (it numbers new terms).
    await share_languages(conn, [project])
    await advisory_locks(conn, [("feedback-term-packer", project)])
    # Claim before reading: a writer marks the day with an update, so it either committed before this delete (and
    # its counts are read below) or waits for this transaction and marks the day again.
    claimed = await conn.fetchval(
        "DELETE FROM feedback.term_days_changed WHERE project = $1 AND kind = $2 AND day = $3 RETURNING 1",
        project,
        kind,
        day,
    )
    if claimed is None:
        return 0
    await conn.execute(
        """
        INSERT INTO feedback.terms (project, term, term_id)
        SELECT $1, fresh.term, numbered.last + row_number() OVER (ORDER BY fresh.term)
        FROM (
            SELECT DISTINCT d.term FROM feedback.term_days d
            WHERE d.project = $1 AND d.kind = $2 AND d.day = $3
              AND NOT EXISTS (SELECT 1 FROM feedback.terms t WHERE t.project = $1 AND t.term = d.term)
        ) fresh,
        (SELECT coalesce(max(term_id), 0) AS last FROM feedback.terms WHERE project = $1) numbered
        """,
        project,
        kind,
        day,
    )
    counts = await conn.fetch(
        """
        SELECT t.term_id,
               coalesce(sum(d.responses) FILTER (WHERE d.side = 'bad'), 0)::int AS bad,
               coalesce(sum(d.responses) FILTER (WHERE d.side = 'neutral'), 0)::int AS neutral,
               coalesce(sum(d.responses) FILTER (WHERE d.side = 'good'), 0)::int AS good
        FROM feedback.term_days d JOIN feedback.terms t ON t.project = d.project AND t.term = d.term
        WHERE d.project = $1 AND d.kind = $2 AND d.day = $3 AND d.responses <> 0
        GROUP BY t.term_id ORDER BY t.term_id
        """,
        project,
        kind,
        day,
    )
    await conn.execute(
        """
        INSERT INTO feedback.term_day_vectors (project, kind, day, term_ids, bad, neutral, good)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (project, kind, day) DO UPDATE SET term_ids = excluded.term_ids, bad = excluded.bad,
            neutral = excluded.neutral, good = excluded.good
        """,
        project,
        kind,
        day,
        *pack([(r["term_id"], r["bad"], r["neutral"], r["good"]) for r in counts]),
    )
    return 1


async def pack_forever(pool: asyncpg.Pool, stop: asyncio.Event, *, every_s: float) -> None:
    """Pack changed days every ``every_s`` seconds until ``stop`` is set."""
    while not stop.is_set():
        packed = await pack_changed_days(pool)
        if packed:
            log.debug("term packer: %d days packed", packed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_s)
