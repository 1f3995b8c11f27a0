"""Loading a large history for the adoption benchmark without replaying it through Kafka: the raw events
(``adoption_sql``; also the naive baseline's input) fill the adoption tables set-based, as the projection would
have written them. The rollups are computed by the same SELECTs that later check them (``ROLLUPS``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

RAW_TABLE = "public.bench_raw_events"

CREATE_RAW = f"""
CREATE TABLE IF NOT EXISTS {RAW_TABLE} (
    project     text        NOT NULL,
    event_id    uuid        NOT NULL,
    distinct_id text        NOT NULL,
    ts          timestamptz NOT NULL,
    day         date        NOT NULL,
    type        text        NOT NULL,
    active      boolean     NOT NULL,
    feature     text,
    traits      jsonb
)"""


def _period(interval: str, column: str) -> str:
    return column if interval == "day" else f"date_trunc('{interval}', {column})::date"


def _cohorts_select(interval: str) -> str:
    """(project, interval, cohort, period, active, last) of one interval, from the per-user rows."""
    period = _period(interval, "day")
    cohort = _period(interval, "first_day")
    return f"""
        WITH spans AS (
            SELECT distinct_id, day, min(day) OVER (PARTITION BY distinct_id) AS first_day
            FROM metrics.user_days WHERE project = $1
        ),
        periods AS (SELECT DISTINCT distinct_id, {cohort} AS cohort, {period} AS period FROM spans),
        lasts AS (SELECT distinct_id, cohort, max(period) AS period FROM periods GROUP BY distinct_id, cohort),
        active AS (SELECT cohort, period, count(*) AS n FROM periods GROUP BY cohort, period),
        last AS (SELECT cohort, period, count(*) AS n FROM lasts GROUP BY cohort, period)
        SELECT $1::text, '{interval}'::text, a.cohort, a.period, a.n::int, coalesce(l.n, 0)::int
        FROM active a LEFT JOIN last l USING (cohort, period)"""


# Each rollup table: its columns and the SELECT (parameter $1: the project) that computes it from the rows.
ROLLUPS: dict[str, tuple[str, str]] = {
    "metrics.activity_links": (
        "project, day, previous_day, users",
        """SELECT $1::text, day, previous_day, count(*)::int FROM (
               SELECT day, coalesce(lag(day) OVER (PARTITION BY distinct_id ORDER BY day), '-infinity') AS previous_day
               FROM metrics.user_days WHERE project = $1) AS linked
           GROUP BY day, previous_day""",
    ),
    "metrics.cohort_periods": (
        "project, interval, cohort, period, active, last",
        " UNION ALL ".join(f"({_cohorts_select(i)})" for i in ("day", "week", "month")),
    ),
    "metrics.feature_links": (
        "project, feature, day, previous_day, users",
        """SELECT $1::text, feature, day, previous_day, count(*)::int FROM (
               SELECT feature, day, coalesce(
                   lag(day) OVER (PARTITION BY distinct_id, feature ORDER BY day), '-infinity') AS previous_day
               FROM metrics.user_feature_days WHERE project = $1) AS linked
           GROUP BY feature, day, previous_day""",
    ),
    "metrics.feature_day_events": (
        "project, feature, day, events",
        """SELECT $1::text, feature, day, sum(events)::bigint FROM metrics.user_feature_days WHERE project = $1
           GROUP BY feature, day""",
    ),
    "metrics.adoption_delays": (
        "project, feature, days, users",
        """SELECT $1::text, a.feature, a.first_day - u.first_day, count(*)::int
           FROM metrics.feature_adopters a JOIN metrics.users u USING (project, distinct_id)
           WHERE a.project = $1 GROUP BY a.feature, a.first_day - u.first_day""",
    ),
}

ROWS = [
    f"""INSERT INTO metrics.user_days (project, day, distinct_id, events)
        SELECT project, day, distinct_id, count(*) FROM {RAW_TABLE} WHERE project = $1 AND active
        GROUP BY project, day, distinct_id""",
    """INSERT INTO metrics.users (project, distinct_id, first_day, last_day)
        SELECT project, distinct_id, min(day), max(day) FROM metrics.user_days WHERE project = $1
        GROUP BY project, distinct_id""",
    f"""INSERT INTO metrics.user_feature_days (project, feature, day, distinct_id, events)
        SELECT project, feature, day, distinct_id, count(*) FROM {RAW_TABLE}
        WHERE project = $1 AND feature IS NOT NULL GROUP BY project, feature, day, distinct_id""",
    """INSERT INTO metrics.feature_adopters (project, feature, distinct_id, first_day)
        SELECT project, feature, distinct_id, min(day) FROM metrics.user_feature_days WHERE project = $1
        GROUP BY project, feature, distinct_id""",
    f"""INSERT INTO metrics.trait_history (project, distinct_id, trait, valid_from, value)
        SELECT DISTINCT ON (r.project, r.distinct_id, t.key, r.ts) r.project, r.distinct_id, t.key, r.ts, t.value
        FROM {RAW_TABLE} r, jsonb_each(r.traits) AS t WHERE r.project = $1 AND r.type = 'identify'""",
    """INSERT INTO metrics.user_traits (project, distinct_id, trait, set_at, value)
        SELECT DISTINCT ON (project, distinct_id, trait) project, distinct_id, trait, valid_from, value
        FROM metrics.trait_history WHERE project = $1 ORDER BY project, distinct_id, trait, valid_from DESC""",
]


def _table_of(statement: str) -> str:
    return statement.split("INSERT INTO", 1)[1].split()[0]


async def _drop_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """Drop the tables' indexes and primary keys; the statements that put them back. Building an index over the
    loaded rows is one sort; keeping it while inserting millions of rows in another order was the slowest step."""
    rows = await conn.fetch(
        """SELECT c.conrelid::regclass::text AS tbl, c.conname AS name,
                  pg_get_constraintdef(c.oid) AS definition, NULL AS indexdef
           FROM pg_constraint c WHERE c.contype = 'p' AND c.conrelid = ANY($1::regclass[])
           UNION ALL
           SELECT i.indrelid::regclass::text, NULL, NULL, pg_get_indexdef(i.indexrelid)
           FROM pg_index i WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary""",
        tables,
    )
    restore = []
    for r in rows:
        if r["indexdef"]:
            name = r["indexdef"].split("INDEX", 1)[1].split()[0]
            await conn.execute(f"DROP INDEX {r['tbl'].split('.')[0]}.{name}")
            restore.append(r["indexdef"])
        else:
            await conn.execute(f"ALTER TABLE {r['tbl']} DROP CONSTRAINT {r['name']}")
            restore.insert(0, f"ALTER TABLE {r['tbl']} ADD CONSTRAINT {r['name']} {r['definition']}")
    return restore


# The load as two chains of statements, each on its own connection (an INSERT ... SELECT runs on one core), then
# what needs both. Each statement follows the ones it reads.
CHAINS = (
    (
        "metrics.user_days",
        "metrics.users",
        "metrics.activity_links",
        "metrics.cohort_periods",
        "metrics.trait_history",
        "metrics.user_traits",
    ),
    ("metrics.user_feature_days", "metrics.feature_adopters", "metrics.feature_links", "metrics.feature_day_events"),
)
AFTER_BOTH = ("metrics.adoption_delays",)


def _statement_of(table: str) -> str:
    if table in ROLLUPS:
        columns, select = ROLLUPS[table]
        return f"INSERT INTO {table} ({columns}) {select}"
    return next(statement for statement in ROWS if _table_of(statement) == table)


async def _bulk_session(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    # Sorts and hashes of millions of rows in memory rather than in temporary files (this session only).
    await conn.execute("SET work_mem = '512MB'")
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute("SET statement_timeout = 0")
    return conn


def _label(statement: str) -> str:
    """The table an INSERT writes, the constraint or index a DDL statement makes."""
    words = statement.split()
    if words[0] == "ALTER":
        return words[words.index("CONSTRAINT") + 1]
    return words[words.index("INDEX") + 1] if words[0] == "CREATE" else words[2]


async def _run_on(dsn: str, statements: list[str], timings: dict[str, float], *args: object) -> None:
    """Run ``statements`` in order on a connection of their own; seconds per statement into ``timings``."""
    conn = await _bulk_session(dsn)
    try:
        for statement in statements:
            started = time.perf_counter()
            await conn.execute(statement, *args)
            timings[_label(statement)] = round(time.perf_counter() - started, 1)
    finally:
        await conn.close()


async def _run_shared(dsn: str, statements: list[str], timings: dict[str, float], connections: int = 2) -> None:
    """Run ``statements``, independent of each other, on ``connections`` connections taking the next one free."""
    queue = list(reversed(statements))

    async def worker() -> None:
        while queue:
            await _run_on(dsn, [queue.pop()], timings)

    await asyncio.gather(*(worker() for _ in range(connections)))


async def load_adoption_tables(dsn: str, project: str) -> dict[str, Any]:
    """Fill the adoption tables from the raw events; seconds per step and per statement. The history gets no
    dedup claims: they matter only to a replay of the same events, and writing 10,000,000 of them took 3 minutes
    here."""
    tables = [table for chain in CHAINS for table in chain] + list(AFTER_BOTH)
    per_statement: dict[str, float] = {}
    timings: dict[str, Any] = {"statements_s": per_statement}
    conn = await _bulk_session(dsn)
    try:
        restore = await _drop_indexes(conn, tables)
    finally:
        await conn.close()
    started = time.perf_counter()
    await asyncio.gather(
        *(_run_on(dsn, [_statement_of(table) for table in chain], per_statement, project) for chain in CHAINS)
    )
    await _run_on(dsn, [_statement_of(table) for table in AFTER_BOTH], per_statement, project)
    timings["rows_and_rollups_s"] = time.perf_counter() - started
    started = time.perf_counter()
    # Primary keys first, then the other indexes.
    await _run_shared(dsn, restore, per_statement)
    timings["indexes_s"] = time.perf_counter() - started
    return timings


async def rollup_mismatches(conn: asyncpg.Connection, project: str) -> list[str]:
    """Rollup tables whose non-zero rows differ from a recomputation from the per-user rows."""
    differing = []
    for table, (columns, select) in ROLLUPS.items():
        stored = f"SELECT {columns} FROM {table} WHERE project = $1"
        counts = [c.strip() for c in columns.split(",") if c.strip() in ("users", "events", "active", "last")]
        nonzero = " OR ".join(f"{c} <> 0" for c in counts)
        differences = await conn.fetchval(
            f"""SELECT count(*) FROM (
                  (({stored} AND ({nonzero})) EXCEPT ({select}))
                  UNION ALL
                  (({select}) EXCEPT ({stored}))
                ) AS d""",
            project,
        )
        if differences:
            differing.append(f"{table}: {differences} rows")
    return differing


async def segment_mismatches(conn: asyncpg.Connection, project: str, trait: str, zone: str) -> list[str]:
    """Segment rollup tables of a declared trait whose non-zero rows differ from a recomputation from the per-user
    rows (computed in a transaction rolled back afterwards)."""
    from pulse_metrics.projections.segment_backfill import SEGMENT_TABLES, compute_segment_rollups

    differing = []
    transaction = conn.transaction()
    await transaction.start()
    try:
        for table in SEGMENT_TABLES:
            await conn.execute(
                f"CREATE TEMP TABLE kept_{table.split('.')[1]} ON COMMIT DROP AS "
                f"SELECT * FROM {table} WHERE project = $1 AND trait = $2",
                project,
                trait,
            )
        await compute_segment_rollups(conn, project, trait, zone)
        for table in SEGMENT_TABLES:
            kept = f"kept_{table.split('.')[1]}"
            counts = [c for c in ("users", "events", "active", "last") if c in await _columns(conn, table)]
            nonzero = " OR ".join(f"{c} <> 0" for c in counts)
            stored = f"SELECT * FROM {kept} WHERE {nonzero}"
            fresh = f"SELECT * FROM {table} WHERE project = $1 AND trait = $2"
            differences = await conn.fetchval(
                f"SELECT count(*) FROM ((({stored}) EXCEPT ({fresh})) UNION ALL (({fresh}) EXCEPT ({stored}))) AS d",
                project,
                trait,
            )
            if differences:
                differing.append(f"{table}: {differences} rows")
    finally:
        await transaction.rollback()
    return differing


async def _columns(conn: asyncpg.Connection, table: str) -> set[str]:
    schema, name = table.split(".")
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2", schema, name
    )
    return {r["column_name"] for r in rows}
