"""Loading a large history for the adoption benchmark without replaying it through Kafka: the raw events are copied
into a table (also the naive baseline's input), then the adoption tables are filled set-based, as the projection
would have written them. The rollups are computed by the same SELECTs that later check them (``ROLLUPS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from pulse_common.events import UsageEventRecorded
from pulse_common.features import FeatureMap, feature_of
from pulse_metrics.projections.activity import ACTIVE_TYPES

RAW_TABLE = "public.bench_raw_events"
AdoptionConsumer = "metrics.adoption"

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


async def copy_raw_events(conn: asyncpg.Connection, events: Sequence[UsageEventRecorded], zone: str) -> int:
    await conn.execute(CREATE_RAW)
    tz = ZoneInfo(zone)
    no_mapping = FeatureMap()
    rows = [
        (
            e.project,
            e.event_id,
            e.distinct_id,
            e.timestamp,
            e.timestamp.astimezone(tz).date(),
            e.type,
            e.type in ACTIVE_TYPES,
            feature_of(e, no_mapping) if e.type in ACTIVE_TYPES else None,
            msgspec.json.encode(e.traits).decode() if e.type == "identify" else None,
        )
        for e in events
    ]
    await conn.copy_records_to_table(
        RAW_TABLE.split(".")[1],
        schema_name="public",
        records=rows,
        columns=["project", "event_id", "distinct_id", "ts", "day", "type", "active", "feature", "traits"],
    )
    return len(rows)


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
    f"""INSERT INTO tracking.event_claims (consumer, event_id)
        SELECT '{AdoptionConsumer}', event_id FROM {RAW_TABLE} WHERE project = $1 ON CONFLICT DO NOTHING""",
]


async def load_adoption_tables(conn: asyncpg.Connection, project: str) -> None:
    await conn.execute(f"CREATE INDEX IF NOT EXISTS bench_raw_events_by_day ON {RAW_TABLE} (project, day)")
    for statement in ROWS:
        await conn.execute(statement, project)
    for table, (columns, select) in ROLLUPS.items():
        await conn.execute(f"INSERT INTO {table} ({columns}) {select}", project)
    await conn.execute("ANALYZE")


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
