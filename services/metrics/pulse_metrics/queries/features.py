"""Feature adoption (product.md §4), counted from the feature rollups (see ``queries.adoption``): every user's, or
a declared segment's; a segment of a trait not declared is counted from the per-user rows (``segmented_features``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_common.periods import Interval, periods_covering, shift_period
from pulse_metrics.queries import segmented_features
from pulse_metrics.queries.figures import FeaturePeriod, FeatureSummary
from pulse_metrics.queries.scope import Scope

Db: TypeAlias = "asyncpg.Pool | Connection"


def median_of_counts(counts: Sequence[tuple[int, int]]) -> float | None:
    """The median of a distribution given as (value, how many), sorted by value; the mean of the two middle values
    when the total is even (as Postgres's ``percentile_cont(0.5)``)."""
    total = sum(n for _, n in counts)
    if total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]  # positions of the middle value(s), 0-based
    found: list[int] = []
    seen = 0
    for value, n in counts:
        while wanted and wanted[0] < seen + n:
            found.append(value)
            wanted.pop(0)
        seen += n
    return sum(found) / 2


async def feature_summaries(db: Db, scope: Scope) -> list[FeatureSummary]:
    """Every feature used in ``first``..``last``, most users first."""
    if scope.from_rows:
        return await segmented_features.feature_summaries(db, scope)
    rows = await db.fetch(
        f"""
        WITH used AS (
            SELECT feature, sum(users) AS users
            FROM {scope.rollup("feature_links", 4, "f")}
            WHERE project = $1 AND previous_day < $2 AND day BETWEEN $2 AND $3
            GROUP BY feature
        ),
        adopters AS (
            SELECT feature, sum(users) AS total FROM {scope.rollup("feature_links", 4, "f")}
            WHERE project = $1 AND previous_day = '-infinity' AND feature IN (SELECT feature FROM used)
            GROUP BY feature
        ),
        events AS (
            SELECT feature, sum(events) AS events FROM {scope.rollup("feature_day_events", 4, "e")}
            WHERE project = $1 AND day BETWEEN $2 AND $3
            GROUP BY feature
        )
        SELECT used.feature, used.users, coalesce(events.events, 0)::bigint AS events,
               coalesce(adopters.total, 0)::bigint AS adopters_total,
               (SELECT coalesce(sum(users), 0) FROM {scope.rollup("activity_links", 4, "l")}
                 WHERE project = $1 AND day BETWEEN $2 AND $3 AND previous_day < $2)::bigint AS active_users
        FROM used LEFT JOIN adopters USING (feature) LEFT JOIN events USING (feature)
        WHERE used.users > 0
        ORDER BY used.users DESC, used.feature
        """,
        scope.project,
        scope.first,
        scope.last,
        *scope.rollup_params(),
    )
    delays = await db.fetch(
        f"SELECT feature, days, users FROM {scope.rollup('adoption_delays', 3, 'd')} "
        "WHERE project = $1 AND feature = ANY($2::text[]) AND users > 0 ORDER BY feature, days",
        scope.project,
        [r["feature"] for r in rows],
        *scope.rollup_params(),
    )
    distributions: dict[str, list[tuple[int, int]]] = {}
    for d in delays:
        distributions.setdefault(d["feature"], []).append((d["days"], d["users"]))
    return [
        FeatureSummary(
            r["feature"],
            r["users"],
            r["events"],
            r["active_users"],
            r["adopters_total"],
            median_of_counts(distributions.get(r["feature"], [])),
        )
        for r in rows
    ]


async def feature_periods(db: Db, scope: Scope, feature: str, interval: Interval) -> list[FeaturePeriod]:
    if scope.from_rows:
        return await segmented_features.feature_periods(db, scope, feature, interval)
    starts = periods_covering(scope.first, scope.last, interval)
    links = scope.rollup("feature_links", 5, "f")
    rows = await db.fetch(
        f"""
        SELECT p.start,
          (SELECT coalesce(sum(f.users) FILTER (WHERE f.previous_day < p.start), 0) FROM {links}
            WHERE f.project = $1 AND f.feature = $2 AND f.day >= p.start AND f.day < p.next_start) AS users,
          (SELECT coalesce(sum(f.users) FILTER (WHERE f.previous_day = '-infinity'), 0) FROM {links}
            WHERE f.project = $1 AND f.feature = $2 AND f.day >= p.start AND f.day < p.next_start) AS new_adopters,
          (SELECT coalesce(sum(e.events), 0)::bigint FROM {scope.rollup("feature_day_events", 5, "e")}
            WHERE e.project = $1 AND e.feature = $2 AND e.day >= p.start AND e.day < p.next_start) AS events,
          (SELECT coalesce(sum(l.users), 0) FROM {scope.rollup("activity_links", 5, "l")}
            WHERE l.project = $1 AND l.day >= p.start AND l.day < p.next_start AND l.previous_day < p.start)
            AS active_users
        FROM unnest($3::date[], $4::date[]) AS p(start, next_start)
        ORDER BY p.start
        """,
        scope.project,
        feature,
        starts,
        [shift_period(s, interval, 1) for s in starts],
        *scope.rollup_params(),
    )
    return [FeaturePeriod.of_row(r, interval) for r in rows]
