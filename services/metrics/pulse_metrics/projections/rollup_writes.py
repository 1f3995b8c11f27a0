"""Adding ``RollupChanges`` to the rollup tables (and ``SegmentChanges`` to the segment rollup tables, the same
tables keyed by trait and value too): one upsert per table, rows in key order (one lock order)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from pulse_common.array_params import array_parameter
from pulse_common.db import Statements
from pulse_metrics.projections.rollups import RollupChanges, nonzero
from pulse_metrics.projections.segments import SegmentChanges

Column = tuple[str, str]  # (name, SQL type)

# Each rollup: its table (the segment table is ``segment_`` + it), its key columns after the project, the counted
# column, and the counter of ``RollupChanges`` holding its changes.
ROLLUP_TABLES: tuple[tuple[str, tuple[Column, ...], str, Callable[[RollupChanges], Counter[Any]]], ...] = (
    ("activity_links", (("day", "date"), ("previous_day", "date")), "users", lambda c: c.activity_links),
    (
        "cohort_periods",
        (("interval", "text"), ("cohort", "date"), ("period", "date")),
        "active",
        lambda c: c.cohort_active,
    ),
    ("cohort_periods", (("interval", "text"), ("cohort", "date"), ("period", "date")), "last", lambda c: c.cohort_last),
    (
        "feature_links",
        (("feature", "text"), ("day", "date"), ("previous_day", "date")),
        "users",
        lambda c: c.feature_links,
    ),
    ("feature_day_events", (("feature", "text"), ("day", "date")), "events", lambda c: c.feature_events),
    ("adoption_delays", (("feature", "text"), ("days", "int")), "users", lambda c: c.adoption_delays),
)
PROJECT: Column = ("project", "text")
SEGMENT: tuple[Column, ...] = (("trait", "text"), ("value", "text"))


async def add_counts(
    conn: Statements,
    table: str,
    keys: Sequence[Column],
    counted: str,
    changes: Counter[Any],
) -> None:
    """``table.counted += n`` for each (key, n) of ``changes``; ``keys`` names the key columns and their types."""
    rows = nonzero(changes)
    if not rows:
        return
    names = ", ".join(name for name, _ in keys)
    kinds = [*(kind for _, kind in keys), "int8"]
    columns = [*([key[i] for key, _ in rows] for i in range(len(keys))), [n for _, n in rows]]
    parameters = [
        array_parameter(position, kind, column)
        for position, (kind, column) in enumerate(zip(kinds, columns, strict=True), start=1)
    ]
    await conn.execute(
        f"""
        INSERT INTO {table} AS t ({names}, {counted})
        SELECT * FROM unnest({", ".join(placeholder for placeholder, _ in parameters)})
        ON CONFLICT ({names}) DO UPDATE SET {counted} = t.{counted} + excluded.{counted}
        """,
        *(value for _, value in parameters),
    )


async def write_rollups(conn: Statements, changes: RollupChanges) -> None:
    for table, keys, counted, counter in ROLLUP_TABLES:
        await add_counts(conn, f"metrics.{table}", (PROJECT, *keys), counted, counter(changes))


async def write_segment_rollups(conn: Statements, changes: SegmentChanges) -> None:
    """Every segment's changes of a table in one upsert, keyed (project, trait, value, then the table's keys)."""
    for table, keys, counted, counter in ROLLUP_TABLES:
        combined: Counter[Any] = Counter()
        for (trait, value), segment_changes in changes.by_segment.items():
            for key, n in counter(segment_changes).items():
                if n:
                    combined[(key[0], trait, value, *key[1:])] += n
        await add_counts(conn, f"metrics.segment_{table}", (PROJECT, *SEGMENT, *keys), counted, combined)
