"""Adding ``RollupChanges`` to the rollup tables: one upsert per table, rows in key order (one lock order)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pulse_common.db import Connection
from pulse_metrics.projections.rollups import RollupChanges, nonzero


async def add_counts(
    conn: Connection,
    table: str,
    keys: Sequence[tuple[str, str]],
    counted: str,
    changes: Counter[Any],
) -> None:
    """``table.counted += n`` for each (key, n) of ``changes``; ``keys`` names the key columns and their types."""
    rows = nonzero(changes)
    if not rows:
        return
    names = ", ".join(name for name, _ in keys)
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(keys, start=1))
    count_at = len(keys) + 1
    await conn.execute(
        f"""
        INSERT INTO {table} AS t ({names}, {counted})
        SELECT * FROM unnest({arrays}, ${count_at}::int8[])
        ON CONFLICT ({names}) DO UPDATE SET {counted} = t.{counted} + excluded.{counted}
        """,
        *([key[i] for key, _ in rows] for i in range(len(keys))),
        [n for _, n in rows],
    )


async def write_rollups(conn: Connection, changes: RollupChanges) -> None:
    await add_counts(
        conn,
        "metrics.activity_links",
        (("project", "text"), ("day", "date"), ("previous_day", "date")),
        "users",
        changes.activity_links,
    )
    cohort_key = (("project", "text"), ("interval", "text"), ("cohort", "date"), ("period", "date"))
    await add_counts(conn, "metrics.cohort_periods", cohort_key, "active", changes.cohort_active)
    await add_counts(conn, "metrics.cohort_periods", cohort_key, "last", changes.cohort_last)
    await add_counts(
        conn,
        "metrics.feature_links",
        (("project", "text"), ("feature", "text"), ("day", "date"), ("previous_day", "date")),
        "users",
        changes.feature_links,
    )
    await add_counts(
        conn,
        "metrics.feature_day_events",
        (("project", "text"), ("feature", "text"), ("day", "date")),
        "events",
        changes.feature_events,
    )
    await add_counts(
        conn,
        "metrics.adoption_delays",
        (("project", "text"), ("feature", "text"), ("days", "int")),
        "users",
        changes.adoption_delays,
    )
