"""Reading daily event counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from pulse_common.db import Connection


@dataclass(frozen=True)
class DailyCount:
    day: date
    event: str
    count: int


async def daily_counts(conn: asyncpg.Pool | Connection, project: str, start: date, end: date) -> list[DailyCount]:
    rows = await conn.fetch(
        "SELECT day, event, count FROM metrics.daily_event_counts "
        "WHERE project = $1 AND day BETWEEN $2 AND $3 ORDER BY day, event",
        project,
        start,
        end,
    )
    return [DailyCount(r["day"], r["event"], r["count"]) for r in rows]
