"""Feature adoption of a segment, counted from the per-user rows (product.md §4; see ``segmented_adoption``).

Each per-user row is joined to its user's span of the segment's value (``scope.member_spans``) and counted in one
grouped pass, not looked up per row or per period."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries.figures import FeaturePeriod, FeatureSummary
from pulse_metrics.queries.scope import SCOPE_CTES, Scope, held_then, period_of

Db: TypeAlias = "asyncpg.Pool | Connection"


async def feature_summaries(db: Db, scope: Scope) -> list[FeatureSummary]:
    """Every feature used in ``first``..``last``, most users first."""
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES},
        active AS (
            SELECT count(DISTINCT distinct_id) AS n FROM days WHERE day BETWEEN $5 AND $6
        ),
        used AS MATERIALIZED (
            SELECT f.feature, count(DISTINCT f.distinct_id) AS users, sum(f.events)::bigint AS events
            FROM metrics.user_feature_days f JOIN member_spans s ON s.distinct_id = f.distinct_id
            WHERE f.project = $1 AND f.day BETWEEN $5 AND $6 AND {held_then("s", "f.day")}
            GROUP BY f.feature
        ),
        adopters AS (
            SELECT a.feature, count(*) AS total,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY a.first_day - u.first_day) AS median_days
            FROM metrics.feature_adopters a
            JOIN member_spans s ON s.distinct_id = a.distinct_id
            JOIN metrics.users u ON u.project = a.project AND u.distinct_id = a.distinct_id
            WHERE a.project = $1 AND a.feature IN (SELECT feature FROM used) AND {held_then("s", "a.first_day")}
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
    """Per period of ``first``..``last``: the feature's users and events, the segment's active users and the
    feature's new adopters, each grouped by period in one pass over its rows ($6..$7: the periods' dates)."""
    starts = periods_covering(scope.first, scope.last, interval)
    ends = [shift_period(s, interval, 1) for s in starts]
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES},
        uses AS (
            SELECT {period_of("f.day", interval)} AS start, count(DISTINCT f.distinct_id) AS users,
                   sum(f.events)::bigint AS events
            FROM metrics.user_feature_days f JOIN member_spans s ON s.distinct_id = f.distinct_id
            WHERE f.project = $1 AND f.feature = $5 AND f.day >= $6 AND f.day < $7 AND {held_then("s", "f.day")}
            GROUP BY 1
        ),
        active AS (
            SELECT {period_of("day", interval)} AS start, count(DISTINCT distinct_id) AS users
            FROM days WHERE day >= $6 AND day < $7 GROUP BY 1
        ),
        adopters AS (
            SELECT {period_of("a.first_day", interval)} AS start, count(*) AS users
            FROM metrics.feature_adopters a JOIN member_spans s ON s.distinct_id = a.distinct_id
            WHERE a.project = $1 AND a.feature = $5 AND a.first_day >= $6 AND a.first_day < $7
              AND {held_then("s", "a.first_day")}
            GROUP BY 1
        )
        SELECT p.start, coalesce(u.users, 0) AS users, coalesce(u.events, 0)::bigint AS events,
               coalesce(a.users, 0) AS active_users, coalesce(n.users, 0) AS new_adopters
        FROM unnest($8::date[]) AS p(start)
        LEFT JOIN uses u USING (start) LEFT JOIN active a USING (start) LEFT JOIN adopters n USING (start)
        ORDER BY 1
        """,
        *scope.params(),
        feature,
        starts[0],
        ends[-1],
        starts,
    )
    return [FeaturePeriod.of_row(r, interval) for r in rows]
