"""Active users, lifecycle and retention (product.md §4): exact counts per local period.

Every user is counted from the rollups (see ``projections.rollups``: a user is active in ``[a, b]`` exactly when
a link ``(day, previous_day)`` has ``a <= day <= b`` and ``previous_day < a``), so a read sums a few thousand
rows whatever the number of users. A segment is counted from the per-user rows (``segmented_adoption``).
"""

from __future__ import annotations

from datetime import date
from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries import segmented_adoption
from pulse_metrics.queries.figures import ActiveUsers, Cohort, Lifecycle
from pulse_metrics.queries.scope import Scope

Db: TypeAlias = "asyncpg.Pool | Connection"


async def active_users(db: Db, scope: Scope) -> list[ActiveUsers]:
    if scope.segment is not None:
        return await segmented_adoption.active_users(db, scope)
    rows = await db.fetch(
        """
        SELECT d::date AS day,
          coalesce(sum(l.users) FILTER (WHERE l.day = d::date), 0) AS dau,
          coalesce(sum(l.users) FILTER (WHERE l.day >= d::date - 6 AND l.previous_day < d::date - 6), 0) AS wau,
          coalesce(sum(l.users) FILTER (WHERE l.previous_day < d::date - 29), 0) AS mau
        FROM generate_series($2::date, $3::date, interval '1 day') AS d
        LEFT JOIN metrics.activity_links l ON l.project = $1 AND l.day BETWEEN d::date - 29 AND d::date
        GROUP BY d
        ORDER BY d
        """,
        scope.project,
        scope.first,
        scope.last,
    )
    return [ActiveUsers(r["day"], r["dau"], r["wau"], r["mau"]) for r in rows]


async def lifecycle(db: Db, scope: Scope, interval: Interval) -> list[Lifecycle]:
    if scope.segment is not None:
        return await segmented_adoption.lifecycle(db, scope, interval)
    starts = periods_covering(scope.first, scope.last, interval)
    rows = await db.fetch(
        """
        SELECT p.start,
          coalesce(sum(l.users) FILTER (WHERE l.day >= p.start AND l.previous_day < p.start), 0) AS active,
          coalesce(sum(l.users) FILTER (WHERE l.day < p.start AND l.previous_day < p.previous_start), 0) AS previous,
          coalesce(sum(l.users) FILTER (WHERE l.day >= p.start
            AND l.previous_day >= p.previous_start AND l.previous_day < p.start), 0) AS returning,
          coalesce(sum(l.users) FILTER (WHERE l.day >= p.start AND l.previous_day = '-infinity'), 0) AS new
        FROM unnest($2::date[], $3::date[], $4::date[]) AS p(start, next_start, previous_start)
        LEFT JOIN metrics.activity_links l
          ON l.project = $1 AND l.day >= p.previous_start AND l.day < p.next_start
        GROUP BY p.start
        ORDER BY p.start
        """,
        scope.project,
        starts,
        [shift_period(s, interval, 1) for s in starts],
        [shift_period(s, interval, -1) for s in starts],
    )
    return [
        Lifecycle(
            period=r["start"],
            next_period=shift_period(r["start"], interval, 1),
            new=r["new"],
            returning=r["returning"],
            # Active now but not before: new users, or users coming back.
            resurrecting=r["active"] - r["returning"] - r["new"],
            dormant=-(r["previous"] - r["returning"]),
        )
        for r in rows
    ]


async def retention(db: Db, scope: Scope, interval: Interval, periods: int) -> list[Cohort]:
    """Cohorts by first active period, one per period holding a date of ``first``..``last``."""
    if scope.segment is not None:
        return await segmented_adoption.retention(db, scope, interval, periods)
    starts = periods_covering(scope.first, scope.last, interval)
    rows = await db.fetch(
        """
        SELECT cohort, period, active, last FROM metrics.cohort_periods
        WHERE project = $1 AND interval = $2 AND cohort = ANY($3::date[])
        """,
        scope.project,
        interval,
        starts,
    )
    active = {(r["cohort"], r["period"]): r["active"] for r in rows}
    last: dict[date, list[tuple[date, int]]] = {}
    for r in rows:
        if r["last"]:
            last.setdefault(r["cohort"], []).append((r["period"], r["last"]))
    cohorts = []
    for cohort in starts:
        offsets = [shift_period(cohort, interval, n) for n in range(periods + 1)]
        cohorts.append(
            Cohort(
                start=cohort,
                size=active.get((cohort, cohort), 0),
                # Active in the period or later: users whose last active period is not before it.
                periods=[
                    (
                        start,
                        active.get((cohort, start), 0),
                        sum(n for period, n in last.get(cohort, []) if period >= start),
                    )
                    for start in offsets
                ],
            )
        )
    return cohorts
