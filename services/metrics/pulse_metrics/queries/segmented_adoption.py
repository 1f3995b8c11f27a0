"""Adoption figures of a segment, counted from the per-user rows (product.md §4): each user-day under the trait
value the user had then (see ``scope``). Slower than the rollups, which cannot know a segment; also the
reference the rollup reads are tested against."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries.figures import ActiveUsers, Cohort, Lifecycle
from pulse_metrics.queries.scope import SCOPE_CTES, Scope

Db: TypeAlias = "asyncpg.Pool | Connection"


async def active_users(db: Db, scope: Scope) -> list[ActiveUsers]:
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES}
        SELECT d::date AS day,
          (SELECT count(*) FROM days u WHERE u.day = d::date) AS dau,
          (SELECT count(DISTINCT u.distinct_id) FROM days u WHERE u.day BETWEEN d::date - 6 AND d::date) AS wau,
          (SELECT count(DISTINCT u.distinct_id) FROM days u WHERE u.day BETWEEN d::date - 29 AND d::date) AS mau
        FROM generate_series($5::date, $6::date, interval '1 day') AS d
        ORDER BY 1
        """,
        *scope.params(),
        scope.first,
        scope.last,
    )
    return [ActiveUsers(r["day"], r["dau"], r["wau"], r["mau"]) for r in rows]


async def lifecycle(db: Db, scope: Scope, interval: Interval) -> list[Lifecycle]:
    starts = periods_covering(scope.first, scope.last, interval)
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES}
        SELECT p.start,
          (SELECT count(DISTINCT u.distinct_id) FROM days u
            WHERE u.day >= p.start AND u.day < p.next_start) AS active,
          (SELECT count(DISTINCT u.distinct_id) FROM days u
            WHERE u.day >= p.previous_start AND u.day < p.start) AS previous,
          (SELECT count(*) FROM (
             SELECT u.distinct_id FROM days u WHERE u.day >= p.start AND u.day < p.next_start
             INTERSECT
             SELECT u.distinct_id FROM days u WHERE u.day >= p.previous_start AND u.day < p.start
          ) AS both_periods) AS returning,
          (SELECT count(*) FROM people n WHERE n.first_day >= p.start AND n.first_day < p.next_start) AS new
        FROM unnest($5::date[], $6::date[], $7::date[]) AS p(start, next_start, previous_start)
        ORDER BY 1
        """,
        *scope.params(),
        starts,
        [shift_period(s, interval, 1) for s in starts],
        [shift_period(s, interval, -1) for s in starts],
    )
    return [
        Lifecycle.of_counts(r["start"], interval, r["active"], r["previous"], r["returning"], r["new"]) for r in rows
    ]


async def retention(
    db: Db,
    scope: Scope,
    interval: Interval,
    periods: int,
) -> list[Cohort]:
    """Cohorts by first active period, one per period holding a date of ``first``..``last``."""
    starts = periods_covering(scope.first, scope.last, interval)
    ends = [shift_period(s, interval, 1) for s in starts]
    sizes = await db.fetch(
        f"""
        WITH {SCOPE_CTES}
        SELECT c.start, count(m.distinct_id) AS size
        FROM unnest($5::date[], $6::date[]) AS c(start, next_start)
        LEFT JOIN people m ON m.first_day >= c.start AND m.first_day < c.next_start
        GROUP BY c.start
        """,
        *scope.params(),
        starts,
        ends,
    )
    buckets = [
        (cohort, end, shift_period(cohort, interval, n), shift_period(cohort, interval, n + 1), n)
        for cohort, end in zip(starts, ends, strict=True)
        for n in range(periods + 1)
    ]
    counts = await db.fetch(
        f"""
        WITH {SCOPE_CTES},
        buckets AS (
            SELECT * FROM unnest($5::date[], $6::date[], $7::date[], $8::date[], $9::int[])
                AS b(cohort, cohort_end, start, next_start, n)
        )
        SELECT b.cohort, b.n,
          count(*) FILTER (WHERE EXISTS (
              SELECT 1 FROM days d
              WHERE d.distinct_id = m.distinct_id AND d.day >= b.start AND d.day < b.next_start
          )) AS active_in,
          count(*) FILTER (WHERE m.last_day >= b.start) AS active_in_or_after
        FROM buckets b
        JOIN people m ON m.first_day >= b.cohort AND m.first_day < b.cohort_end
        GROUP BY b.cohort, b.n
        """,
        *scope.params(),
        [b[0] for b in buckets],
        [b[1] for b in buckets],
        [b[2] for b in buckets],
        [b[3] for b in buckets],
        [b[4] for b in buckets],
    )
    size_of = {r["start"]: r["size"] for r in sizes}
    found = {(r["cohort"], r["n"]): (r["active_in"], r["active_in_or_after"]) for r in counts}
    return [
        Cohort(
            start=cohort,
            size=size_of.get(cohort, 0),
            periods=[(shift_period(cohort, interval, n), *found.get((cohort, n), (0, 0))) for n in range(periods + 1)],
        )
        for cohort in starts
    ]
