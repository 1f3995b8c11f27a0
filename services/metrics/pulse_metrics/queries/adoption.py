"""Active users, lifecycle and retention (product.md §4): exact counts per local period.

Every user is counted from the rollups (see ``projections.rollups``: a user is active in ``[a, b]`` exactly when
a link ``(day, previous_day)`` has ``a <= day <= b`` and ``previous_day < a``), so a read sums a few thousand
rows whatever the number of users. A segment of a declared trait is counted from its own rollups alike
(``projections.segments``), any other segment from the per-user rows (``segmented_adoption``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries import segmented_adoption
from pulse_metrics.queries.adoption_series import LIFECYCLE_SUMS, active_series
from pulse_metrics.queries.figures import ActiveUsers, Cohort, Lifecycle
from pulse_metrics.queries.scope import Scope

Db: TypeAlias = "asyncpg.Pool | Connection"


def active_since(lasts: Iterable[tuple[date, int]], starts: Sequence[date]) -> list[int]:
    """For each period start (ascending): users whose last active period starts on or after it (a suffix sum)."""
    remaining = sorted(lasts, reverse=True)
    counts: list[int] = []
    total = 0
    taken = 0
    for start in reversed(starts):
        while taken < len(remaining) and remaining[taken][0] >= start:
            total += remaining[taken][1]
            taken += 1
        counts.append(total)
    return counts[::-1]


async def active_users(db: Db, scope: Scope) -> list[ActiveUsers]:
    if scope.from_rows:
        return await segmented_adoption.active_users(db, scope)
    rows = await db.fetch(
        f"SELECT day, previous_day, users FROM {scope.rollup('activity_links', 4, 'l')} "
        "WHERE project = $1 AND day BETWEEN $2::date - 29 AND $3 AND users <> 0",
        scope.project,
        scope.first,
        scope.last,
        *scope.rollup_params(),
    )
    return active_series(((r["day"], r["previous_day"], r["users"]) for r in rows), scope.first, scope.last)


async def lifecycle(db: Db, scope: Scope, interval: Interval) -> list[Lifecycle]:
    if scope.from_rows:
        return await segmented_adoption.lifecycle(db, scope, interval)
    starts = periods_covering(scope.first, scope.last, interval)
    rows = await db.fetch(
        f"""
        SELECT p.start,
          {LIFECYCLE_SUMS},
          coalesce(sum(l.users) FILTER (WHERE l.day >= p.start AND l.previous_day = '-infinity'), 0) AS new
        FROM unnest($2::date[], $3::date[], $4::date[]) AS p(start, next_start, previous_start)
        LEFT JOIN {scope.rollup("activity_links", 5, "l")}
          ON l.project = $1 AND l.day >= p.previous_start AND l.day < p.next_start
        GROUP BY p.start
        ORDER BY p.start
        """,
        scope.project,
        starts,
        [shift_period(s, interval, 1) for s in starts],
        [shift_period(s, interval, -1) for s in starts],
        *scope.rollup_params(),
    )
    return [
        Lifecycle.of_counts(r["start"], interval, r["active"], r["previous"], r["returning"], r["new"]) for r in rows
    ]


async def retention(db: Db, scope: Scope, interval: Interval, periods: int) -> list[Cohort]:
    """Cohorts by first active period, one per period holding a date of ``first``..``last``."""
    if scope.from_rows:
        return await segmented_adoption.retention(db, scope, interval, periods)
    starts = periods_covering(scope.first, scope.last, interval)
    rows = await db.fetch(
        f"""
        SELECT cohort, period, active, last FROM {scope.rollup("cohort_periods", 4, "c")}
        WHERE project = $1 AND interval = $2 AND cohort = ANY($3::date[])
        """,
        scope.project,
        interval,
        starts,
        *scope.rollup_params(),
    )
    # ~4,000 rows for 90 daily cohorts: unpacked by position, the cheapest way through asyncpg records.
    active: dict[tuple[date, date], int] = {}
    last: dict[date, list[tuple[date, int]]] = {}
    for cohort, period, users_active, users_last in rows:
        active[(cohort, period)] = users_active
        if users_last:
            last.setdefault(cohort, []).append((period, users_last))
    cohorts = []
    for cohort in starts:
        offsets = [shift_period(cohort, interval, n) for n in range(periods + 1)]
        cohorts.append(
            Cohort(
                start=cohort,
                size=active.get((cohort, cohort), 0),
                periods=[
                    (start, active.get((cohort, start), 0), still)
                    for start, still in zip(offsets, active_since(last.get(cohort, []), offsets), strict=True)
                ],
            )
        )
    return cohorts
