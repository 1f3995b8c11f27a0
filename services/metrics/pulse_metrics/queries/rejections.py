"""Reading rejections: counts by code and the newest samples in a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from pulse_common.db import Connection


@dataclass(frozen=True)
class RejectionSummary:
    counts: list[tuple[str, int]]
    samples: list[dict[str, Any]]


async def rejections(
    conn: asyncpg.Pool | Connection,
    project: str,
    start: datetime,
    end: datetime,
    code: str | None,
    sample_limit: int,
) -> RejectionSummary:
    """Rejections with ``start <= rejected_at < end`` (and of ``code`` when given)."""
    counts = await conn.fetch(
        "SELECT code, count(*) AS n FROM metrics.rejections "
        "WHERE project = $1 AND rejected_at >= $2 AND rejected_at < $3 AND ($4::text IS NULL OR code = $4) "
        "GROUP BY code ORDER BY n DESC, code",
        project,
        start,
        end,
        code,
    )
    samples = await conn.fetch(
        "SELECT rejected_at, code, stream, message_id, reason, payload FROM metrics.rejections "
        "WHERE project = $1 AND rejected_at >= $2 AND rejected_at < $3 AND ($4::text IS NULL OR code = $4) "
        "ORDER BY rejected_at DESC, letter_id LIMIT $5",
        project,
        start,
        end,
        code,
        sample_limit,
    )
    return RejectionSummary(
        counts=[(r["code"], r["n"]) for r in counts],
        samples=[
            {
                "rejected_at": r["rejected_at"].isoformat(),
                "code": r["code"],
                "stream": r["stream"],
                "messageId": r["message_id"],
                "message": r["reason"],
                "payload": r["payload"],
            }
            for r in samples
        ],
    )
