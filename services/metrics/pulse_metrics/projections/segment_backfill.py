"""Declaring a segment trait: its rollups computed set-based from the per-user rows, under the project's segment
lock held exclusively (see ``segment_store``), then kept by the adoption consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pulse_common.db import Connection
from pulse_common.periods import Interval
from pulse_common.projects import ProjectError
from pulse_metrics.projections.rollup_writes import ROLLUP_TABLES
from pulse_metrics.projections.rollups import INTERVALS
from pulse_metrics.projections.segment_store import segments_lock_key
from pulse_metrics.queries.scope import held_then, period_of

MAX_DECLARED_TRAITS = 10


# Staged once per computation, in temporary tables dropped at commit ($1 project; $2 the trait for the spans, the
# project's timezone for the rest): the trait's spans per user and value, and every user-day and feature-use-day
# with the value held at the end of that day (``queries.scope.held_then``, as a segment's per-user reads match them;
# its $2 is the timezone), the user's first-ever active day
# and the first day they used the feature.
_STAGED = {
    "segment_spans (distinct_id text, since timestamptz, until timestamptz, value text)": """
        SELECT distinct_id, since, until, value FROM (
            SELECT h.distinct_id, h.valid_from AS since, h.value #>> '{}' AS value,
                   lead(h.valid_from) OVER (PARTITION BY h.distinct_id ORDER BY h.valid_from) AS until
            FROM metrics.trait_history h WHERE h.project = $1 AND h.trait = $2
        ) AS spans
        WHERE value IS NOT NULL""",
    "segment_held_days (distinct_id text, value text, day date, first_day date)": f"""
        SELECT d.distinct_id, s.value, d.day, p.first_day FROM metrics.user_days d
        JOIN segment_spans s ON s.distinct_id = d.distinct_id AND {held_then("s", "d.day")}
        JOIN metrics.users p ON p.project = d.project AND p.distinct_id = d.distinct_id
        WHERE d.project = $1""",
    "segment_held_uses (distinct_id text, value text, feature text, day date, events bigint, first_use date)": f"""
        SELECT f.distinct_id, s.value, f.feature, f.day, f.events, a.first_day AS first_use
        FROM metrics.user_feature_days f
        JOIN segment_spans s ON s.distinct_id = f.distinct_id AND {held_then("s", "f.day")}
        JOIN metrics.feature_adopters a
          ON a.project = f.project AND a.feature = f.feature AND a.distinct_id = f.distinct_id
        WHERE f.project = $1""",
}


def _cohorts(interval: Interval) -> str:
    return f"""
        SELECT value, '{interval}' AS interval, {period_of("first_day", interval)} AS cohort, period,
               count(*)::int AS active,
               count(*) FILTER (WHERE period = last_period)::int AS last
        FROM (SELECT DISTINCT distinct_id, value, first_day, {period_of("day", interval)} AS period,
                     {period_of("last_day", interval)} AS last_period FROM members) AS periods
        GROUP BY value, cohort, period"""


# The first day of a user's share of the days: -infinity when it is their first ever, else ELSEWHERE (0001-01-02).
_PREVIOUS = """coalesce(lag(day) OVER (PARTITION BY distinct_id, {group} ORDER BY day),
                        CASE WHEN day = {first} THEN '-infinity'::date ELSE '0001-01-02'::date END)"""

# Per segment table: its columns after (project, trait) and the SELECT computing them from the staged rows.
BACKFILL: dict[str, tuple[str, str]] = {
    "segment_activity_links": (
        "value, day, previous_day, users",
        f"""
        SELECT value, day, previous_day, count(*)::int FROM (
            SELECT value, day, {_PREVIOUS.format(group="value", first="first_day")} AS previous_day
            FROM segment_held_days
        ) AS linked
        GROUP BY value, day, previous_day""",
    ),
    # Only users whose first-ever active day counts under the value are in its cohorts.
    "segment_cohort_periods": (
        "value, interval, cohort, period, active, last",
        f"""
        WITH members AS MATERIALIZED (
            SELECT distinct_id, value, day, first_day, last_day FROM (
                SELECT *, bool_or(day = first_day) OVER w AS counted, max(day) OVER w AS last_day
                FROM segment_held_days WINDOW w AS (PARTITION BY distinct_id, value)
            ) AS each WHERE counted
        )
        {" UNION ALL ".join(f"({_cohorts(i)})" for i in INTERVALS)}""",
    ),
    "segment_feature_links": (
        "value, feature, day, previous_day, users",
        f"""
        SELECT value, feature, day, previous_day, count(*)::int FROM (
            SELECT value, feature, day, {_PREVIOUS.format(group="feature, value", first="first_use")} AS previous_day
            FROM segment_held_uses
        ) AS linked
        GROUP BY value, feature, day, previous_day""",
    ),
    "segment_feature_day_events": (
        "value, feature, day, events",
        "SELECT value, feature, day, sum(events)::bigint FROM segment_held_uses GROUP BY value, feature, day",
    ),
    # Adopters under the value held on their first use, a day they were active (feature use is activity).
    "segment_adoption_delays": (
        "value, feature, days, users",
        """
        SELECT h.value, a.feature, a.first_day - h.first_day, count(*)::int FROM metrics.feature_adopters a
        JOIN segment_held_days h ON h.distinct_id = a.distinct_id AND h.day = a.first_day
        WHERE a.project = $1
        GROUP BY h.value, a.feature, a.first_day - h.first_day""",
    ),
}
SEGMENT_TABLES = tuple(sorted({f"metrics.segment_{table}" for table, *_ in ROLLUP_TABLES}))


# Computed from the staged use-days alone: on a second connection when one is given (see compute_segment_rollups).
FEATURE_TABLES = ("segment_feature_links", "segment_feature_day_events")


async def _stage(conn: Connection, names: Sequence[str], project: str, trait: str, timezone: str) -> None:
    for table, select in _STAGED.items():
        name = table.split()[0]
        if name not in names:
            continue
        await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        await conn.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP")
        await conn.execute(
            f"INSERT INTO pg_temp.{name} {select}", project, trait if name == "segment_spans" else timezone
        )
        await conn.execute(f"ANALYZE pg_temp.{name}")


async def _feature_rows(helper: Connection, project: str, trait: str, timezone: str) -> dict[str, list[Any]]:
    async with helper.transaction():
        await _stage(helper, ("segment_spans", "segment_held_uses"), project, trait, timezone)
        return {table: await helper.fetch(BACKFILL[table][1]) for table in FEATURE_TABLES}


async def compute_segment_rollups(
    conn: Connection, project: str, trait: str, timezone: str, helper: Connection | None = None
) -> None:
    """Replace the trait's segment rollups with ones computed from the per-user rows, in the caller's transaction
    (which holds the project's segment lock exclusively, so no consumer changes the rows meanwhile).

    With a ``helper`` connection the feature rollups are computed on it at the same time (rows fetched, then
    written here in the caller's transaction): on 1,000,000 users the two halves take about as long as each other.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("compute_segment_rollups runs in a transaction (its staging tables drop at commit)")
    for table in SEGMENT_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE project = $1 AND trait = $2", project, trait)
    computed = asyncio.create_task(_feature_rows(helper, project, trait, timezone)) if helper is not None else None
    try:
        staged = ("segment_spans", "segment_held_days") if computed else tuple(t.split()[0] for t in _STAGED)
        await _stage(conn, staged, project, trait, timezone)
        for table, (columns, select) in BACKFILL.items():
            if computed is None or table not in FEATURE_TABLES:
                await conn.execute(
                    f"INSERT INTO metrics.{table} (project, trait, {columns}) SELECT $1, $2, * FROM ({select}) AS c",
                    project,
                    trait,
                )
        rows = await computed if computed is not None else {}
    finally:
        if computed is not None and not computed.done():
            computed.cancel()
    for table, records in rows.items():
        await conn.copy_records_to_table(
            table,
            schema_name="metrics",
            columns=["project", "trait", *(c.strip() for c in BACKFILL[table][0].split(","))],
            records=[(project, trait, *r) for r in records],
        )


async def declare_trait(conn: Connection, project: str, trait: str, helper: Connection | None = None) -> bool:
    """Keep segment rollups for ``trait`` from now on, computed at once for the history so far (half of it on
    ``helper`` when given). False when it was declared already."""
    trait = trait.strip()
    if not trait:
        raise ProjectError("trait must not be empty")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", segments_lock_key(project))
        timezone = await conn.fetchval("SELECT timezone FROM control.projects WHERE project = $1", project)
        if timezone is None:
            raise ProjectError(f"project {project!r} does not exist")
        count = await conn.fetchval("SELECT count(*) FROM metrics.segment_traits WHERE project = $1", project)
        inserted = await conn.fetchval(
            "INSERT INTO metrics.segment_traits (project, trait) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            project,
            trait,
        )
        if inserted is None:
            return False
        if count >= MAX_DECLARED_TRAITS:
            raise ProjectError(f"a project segments by at most {MAX_DECLARED_TRAITS} traits")
        await compute_segment_rollups(conn, project, trait, timezone, helper)
        return True


async def undeclare_trait(conn: Connection, project: str, trait: str) -> bool:
    """Stop keeping segment rollups for ``trait`` (its segments are counted from the per-user rows again)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", segments_lock_key(project))
        removed = await conn.fetchval(
            "DELETE FROM metrics.segment_traits WHERE project = $1 AND trait = $2 RETURNING 1", project, trait
        )
        for table in SEGMENT_TABLES:
            await conn.execute(f"DELETE FROM {table} WHERE project = $1 AND trait = $2", project, trait)
        return removed is not None
