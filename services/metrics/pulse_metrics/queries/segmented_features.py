"""Feature adoption of a segment, counted from the per-user rows (product.md §4; see ``segmented_adoption``)."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries.figures import FeaturePeriod, FeatureSummary
from pulse_metrics.queries.scope import SCOPE_CTES, Scope, in_segment

Db: TypeAlias = "asyncpg.Pool | Connection"


async def feature_summaries(db: Db, scope: Scope) -> list[FeatureSummary]:
    """Every feature used in ``first``..``last``, most users first."""
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES},
        active AS (
            SELECT count(DISTINCT distinct_id) AS n FROM days WHERE day BETWEEN $5 AND $6
        ),
        used AS (
            SELECT feature, count(DISTINCT distinct_id) AS users, sum(events)::bigint AS events
            FROM metrics.user_feature_days f
            WHERE project = $1 AND day BETWEEN $5 AND $6 AND {in_segment("f.distinct_id", "f.day")}
            GROUP BY feature
        ),
        adopters AS (
            SELECT a.feature, count(*) AS total,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY a.first_day - u.first_day) AS median_days
            FROM metrics.feature_adopters a
            JOIN metrics.users u ON u.project = a.project AND u.distinct_id = a.distinct_id
            WHERE a.project = $1 AND a.feature IN (SELECT feature FROM used)
              AND {in_segment("a.distinct_id", "a.first_day")}
            GROUP BY a.feature
        )
        SELECT used.feature, used.users, used.events, active.n AS active_users,
               coalesce(adopters.total, 0) AS adopters_total, adopters.median_days
        FROM used CROSS JOIN active LEFT JOIN adopters USING (feature)
        ORDER BY used.users DESC, used.feature
        """,
        *scope.params(),
        scope.first,
        scope.last,
    )
    return [
        FeatureSummary(r["feature"], r["users"], r["events"], r["active_users"], r["adopters_total"], r["median_days"])
        for r in rows
    ]


async def feature_periods(
    db: Db,
    scope: Scope,
    feature: str,
    interval: Interval,
) -> list[FeaturePeriod]:
    starts = periods_covering(scope.first, scope.last, interval)
    ends = [shift_period(s, interval, 1) for s in starts]
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES},
        uses AS (
            SELECT f.day, f.distinct_id, f.events FROM metrics.user_feature_days f
            WHERE f.project = $1 AND f.feature = $5 AND {in_segment("f.distinct_id", "f.day")}
        )
        SELECT p.start,
          (SELECT count(DISTINCT f.distinct_id) FROM uses f WHERE f.day >= p.start AND f.day < p.next_start) AS users,
          (SELECT coalesce(sum(f.events), 0)::bigint FROM uses f
            WHERE f.day >= p.start AND f.day < p.next_start) AS events,
          (SELECT count(DISTINCT u.distinct_id) FROM days u
            WHERE u.day >= p.start AND u.day < p.next_start) AS active_users,
          (SELECT count(*) FROM metrics.feature_adopters a
            WHERE a.project = $1 AND a.feature = $5 AND a.first_day >= p.start AND a.first_day < p.next_start
              AND {in_segment("a.distinct_id", "a.first_day")}) AS new_adopters
        FROM unnest($6::date[], $7::date[]) AS p(start, next_start)
        ORDER BY 1
        """,
        *scope.params(),
        feature,
        starts,
        ends,
    )
    return [FeaturePeriod.of_row(r, interval) for r in rows]
