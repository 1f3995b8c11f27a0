"""The Adoption dashboard: DAU / WAU / MAU and stickiness, lifecycle, feature adoption and trends, retention
(grafana views of the metrics service, product.md §4)."""

from __future__ import annotations

from pulse_common.grafana.model import Choice, Dashboard, Panel, Sql, Variable

FROM_DAY = "$__timeFrom()::date"
TO_DAY = "$__timeTo()::date"

ACTIVE = Sql(
    f"""SELECT day::timestamp AS time, dau AS "DAU", wau AS "WAU", mau AS "MAU"
FROM grafana.active_users WHERE project = '$project' AND day BETWEEN {FROM_DAY} AND {TO_DAY} ORDER BY 1""",
    "time_series",
)
STICKINESS = Sql(
    f"""SELECT day::timestamp AS time, stickiness AS "DAU / MAU"
FROM grafana.active_users WHERE project = '$project' AND day BETWEEN {FROM_DAY} AND {TO_DAY} ORDER BY 1""",
    "time_series",
)
LIFECYCLE = Sql(
    f"""SELECT period::timestamp AS time, new, "returning", resurrecting, dormant
FROM grafana.lifecycle
WHERE project = '$project' AND interval = '$interval' AND period BETWEEN date_trunc('$interval', {FROM_DAY})::date
  AND {TO_DAY}
ORDER BY 1""",
    "time_series",
)
# Distinct users over the range: links in it whose previous active day is before it.
FEATURES = Sql(
    f"""WITH active AS (
  SELECT coalesce(sum(users), 0) AS users FROM grafana.activity_links
  WHERE project = '$project' AND day BETWEEN {FROM_DAY} AND {TO_DAY} AND previous_day < {FROM_DAY}
), used AS (
  SELECT feature, sum(users) AS users FROM grafana.feature_links
  WHERE project = '$project' AND day BETWEEN {FROM_DAY} AND {TO_DAY} AND previous_day < {FROM_DAY}
  GROUP BY feature
), events AS (
  SELECT feature, sum(events) AS events FROM grafana.feature_days
  WHERE project = '$project' AND day BETWEEN {FROM_DAY} AND {TO_DAY} GROUP BY feature
)
SELECT u.feature, u.users::bigint AS users, coalesce(e.events, 0)::bigint AS events,
  u.users::float8 / nullif(a.users, 0) AS adoption_rate
FROM used u CROSS JOIN active a LEFT JOIN events e USING (feature)
ORDER BY users DESC, feature"""
)
FEATURE_TREND = Sql(
    f"""SELECT day::timestamp AS time, users AS "users of $feature", events AS "events"
FROM grafana.feature_days
WHERE project = '$project' AND feature = '$feature' AND day BETWEEN {FROM_DAY} AND {TO_DAY} ORDER BY 1""",
    "time_series",
)
RETENTION = Sql(
    f"""SELECT cohort::text AS cohort, size, period_number, rate
FROM grafana.retention
WHERE project = '$project' AND interval = '$interval' AND cohort BETWEEN {FROM_DAY} AND {TO_DAY}
  AND period_number <= 12
ORDER BY cohort, period_number"""
)


def dashboard() -> Dashboard:
    return Dashboard(
        uid="pulse-adoption",
        title="Pulse · Adoption",
        description="Active users, stickiness, lifecycle, feature adoption and retention (product.md §4)",
        time_from="now-90d",
        variables=(
            Variable("project", "Project", "SELECT project FROM grafana.projects ORDER BY 1"),
            Variable(
                "feature",
                "Feature",
                "SELECT DISTINCT feature FROM grafana.feature_days WHERE project = '$project' ORDER BY 1",
            ),
            Choice("interval", "Period", ("week", "day", "month")),
        ),
        rows=(
            (
                Panel("timeseries", "DAU, WAU, MAU", "Distinct active users over 1, 7 and 30 local days.", (ACTIVE,)),
                Panel(
                    "timeseries",
                    "Stickiness",
                    "DAU / MAU of each local day.",
                    (STICKINESS,),
                    unit="percentunit",
                    min=0,
                    max=1,
                ),
            ),
            (
                Panel(
                    "timeseries",
                    "Lifecycle",
                    "New, returning and resurrecting users of each period, and dormant ones (negative).",
                    (LIFECYCLE,),
                    width=24,
                    custom={"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal", "group": "A"}},
                ),
            ),
            (
                Panel(
                    "table",
                    "Feature adoption",
                    "Users of each feature over the time range, its events, and adoption rate = its users / "
                    "active users over the range.",
                    (FEATURES,),
                    overrides=(
                        {
                            "matcher": {"id": "byName", "options": "adoption_rate"},
                            "properties": [{"id": "unit", "value": "percentunit"}],
                        },
                    ),
                ),
                Panel(
                    "timeseries",
                    "Trend of $feature",
                    "Users and events of the feature per local day.",
                    (FEATURE_TREND,),
                ),
            ),
            (
                Panel(
                    "table",
                    "Retention",
                    "Share of each cohort (users by first active period) active in period N ('on' mode).",
                    (RETENTION,),
                    width=24,
                    height=10,
                    unit="percentunit",
                    custom={"cellOptions": {"type": "color-background"}},
                    transformations=(
                        {
                            "id": "groupingToMatrix",
                            "options": {"columnField": "period_number", "rowField": "cohort", "valueField": "rate"},
                        },
                    ),
                ),
            ),
        ),
    )
