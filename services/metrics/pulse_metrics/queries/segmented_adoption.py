"""Adoption figures of a segment, counted from the per-user rows (product.md §4): each user-day under the trait
value the user had then (see ``scope``). Slower than the rollups, which cannot know a segment; the tests check
both against each other with a segment every user holds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries.adoption_series import LIFECYCLE_SUMS, active_series
from pulse_metrics.queries.figures import ActiveUsers, Cohort, Lifecycle
from pulse_metrics.queries.scope import SCOPE_CTES, Scope, period_of

Db: TypeAlias = "asyncpg.Pool | Connection"


# The segment's links (day, previous active day in the segment, users) from its user-days in $5..$6: the shape of
# metrics.activity_links, so the rollup reads' arithmetic applies. A user's days before $5 are cut off: every window
# a read compares starts on or after $5, where "no earlier day" and "an earlier day before $5" count alike.
LINKED = """
linked AS (
    SELECT day, coalesce(lag(day) OVER (PARTITION BY distinct_id ORDER BY day), '-infinity') AS previous_day
    FROM days WHERE day >= $5::date AND day <= $6::date
),
links AS (SELECT day, previous_day, count(*)::int AS users FROM linked GROUP BY day, previous_day)"""


async def active_users(db: Db, scope: Scope) -> list[ActiveUsers]:
    rows = await db.fetch(
        f"WITH {SCOPE_CTES}, {LINKED} SELECT day, previous_day, users FROM links",
        *scope.params(),
        scope.first - timedelta(days=29),
        scope.last,
    )
    return active_series(((r["day"], r["previous_day"], r["users"]) for r in rows), scope.first, scope.last)


async def lifecycle(db: Db, scope: Scope, interval: Interval) -> list[Lifecycle]:
    """The rollup read's sums over the segment's links; new users are those whose first-ever active day (not their
    first in the segment) falls in the period under the segment."""
    starts = periods_covering(scope.first, scope.last, interval)
    previous_starts = [shift_period(s, interval, -1) for s in starts]
    next_starts = [shift_period(s, interval, 1) for s in starts]
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES}, {LINKED},
        firsts AS MATERIALIZED (
            SELECT first_day, count(*) AS users FROM people WHERE first_day >= $7 AND first_day <= $6 GROUP BY first_day
        )
        SELECT p.start,
          {LIFECYCLE_SUMS},
          (SELECT coalesce(sum(f.users), 0)::bigint FROM firsts f
            WHERE f.first_day >= p.start AND f.first_day < p.next_start) AS new
        FROM unnest($8::date[], $9::date[], $10::date[]) AS p(start, next_start, previous_start)
        LEFT JOIN links l ON l.day >= p.previous_start AND l.day < p.next_start
        GROUP BY p.start, p.next_start
        ORDER BY p.start
        """,
        *scope.params(),
        previous_starts[0],
        next_starts[-1] - timedelta(days=1),
        starts[0],
        starts,
        next_starts,
        previous_starts,
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
    """Cohorts by first active period, one per period holding a date of ``first``..``last``: each member's active
    periods and last active period counted once, as the rollup (metrics.cohort_periods) counts everyone."""
    starts = periods_covering(scope.first, scope.last, interval)
    ends = [shift_period(s, interval, 1) for s in starts]
    rows = await db.fetch(
        f"""
        WITH {SCOPE_CTES},
        members AS MATERIALIZED (
            SELECT distinct_id, first_day, {period_of("first_day", interval)} AS cohort,
                   {period_of("last_day", interval)} AS last_period
            FROM people WHERE first_day >= $5 AND first_day < $6
        ),
        activity AS (
            SELECT DISTINCT m.cohort, m.distinct_id, {period_of("d.day", interval)} AS period
            FROM members m JOIN days d ON d.distinct_id = m.distinct_id AND d.day >= m.first_day
        )
        SELECT true AS active, cohort, period, count(*)::int AS users FROM activity GROUP BY cohort, period
        UNION ALL
        SELECT false, cohort, last_period, count(*)::int FROM members GROUP BY cohort, last_period
        """,
        *scope.params(),
        starts[0],
        ends[-1],
    )
    active = [r for r in rows if r["active"]]
    lasts = [r for r in rows if not r["active"]]
    active_in = {(r["cohort"], r["period"]): r["users"] for r in active}
    size_of: dict[date, int] = {}
    last_periods: dict[date, list[tuple[date, int]]] = {}
    for r in lasts:
        size_of[r["cohort"]] = size_of.get(r["cohort"], 0) + r["users"]
        last_periods.setdefault(r["cohort"], []).append((r["period"], r["users"]))
    cohorts = []
    for cohort in starts:
        offsets = []
        for n in range(periods + 1):
            period = shift_period(cohort, interval, n)
            later = sum(users for last, users in last_periods.get(cohort, []) if last >= period)
            offsets.append((period, active_in.get((cohort, period), 0), later))
        cohorts.append(Cohort(start=cohort, size=size_of.get(cohort, 0), periods=offsets))
    return cohorts
