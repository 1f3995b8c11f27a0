"""The Release health dashboard: crash-free sessions and users per release over time, healthy-session rate,
adoption and stage per release (grafana views of the metrics service, product.md §5)."""

from __future__ import annotations

from pulse_common.grafana.model import ALL, Dashboard, Panel, Sql, Variable

SCOPE = f"project = '$project' AND environment = '$environment' AND ('$release' = '{ALL}' OR release = '$release')"
WINDOW_DAYS = "day BETWEEN $__timeFrom()::date AND $__timeTo()::date"


def _per_release(expression: str) -> Sql:
    return Sql(
        f"""SELECT day::timestamp AS time, release AS metric, {expression} AS value
FROM grafana.release_days WHERE {SCOPE} AND {WINDOW_DAYS} ORDER BY 1, 2""",
        "time_series",
    )


SUMMARY = Sql(
    f"""SELECT d.release, sum(d.sessions)::bigint AS sessions,
  1 - sum(d.crashed)::float8 / sum(d.sessions) AS crash_free_sessions,
  sum(d.healthy)::float8 / sum(d.sessions) AS healthy_sessions_rate,
  a.adoption_sessions, a.adoption_users, coalesce(a.stage, 'low') AS stage
FROM grafana.release_days d
LEFT JOIN grafana.release_adoption a USING (project, environment, release)
WHERE d.project = '$project' AND d.environment = '$environment'
  AND ('$release' = '{ALL}' OR d.release = '$release') AND d.{WINDOW_DAYS}
GROUP BY d.release, a.adoption_sessions, a.adoption_users, a.stage
ORDER BY min(d.day) DESC, d.release DESC"""
)
RATE = (
    {
        "matcher": {"id": "byRegexp", "options": "crash_free_sessions|healthy_sessions_rate|adoption_.*"},
        "properties": [{"id": "unit", "value": "percentunit"}],
    },
)


def dashboard() -> Dashboard:
    return Dashboard(
        uid="pulse-release-health",
        title="Pulse · Release health",
        description="Crash-free sessions and users, healthy sessions, adoption and stage per release (product.md §5)",
        time_from="now-14d",
        variables=(
            Variable("project", "Project", "SELECT project FROM grafana.projects ORDER BY 1"),
            Variable(
                "environment",
                "Environment",
                "SELECT DISTINCT environment FROM grafana.release_days WHERE project = '$project' ORDER BY 1",
            ),
            Variable(
                "release",
                "Release",
                "SELECT DISTINCT release FROM grafana.release_days "
                "WHERE project = '$project' AND environment = '$environment' ORDER BY 1",
                include_all=True,
            ),
        ),
        rows=(
            (
                Panel(
                    "timeseries",
                    "Crash-free sessions per release",
                    "1 - crashed sessions / sessions, per local day the sessions started.",
                    (_per_release("1 - crashed::float8 / sessions"),),
                    unit="percentunit",
                    max=1,
                ),
                Panel(
                    "timeseries",
                    "Crash-free users per release",
                    "1 - users with a crashed session / users, per local day.",
                    (_per_release("1 - crashed_users::float8 / nullif(users, 0)"),),
                    unit="percentunit",
                    max=1,
                ),
            ),
            (
                Panel(
                    "timeseries",
                    "Healthy-session rate per release",
                    "Sessions neither errored, crashed nor abnormal / sessions, per local day.",
                    (_per_release("healthy::float8 / sessions"),),
                    unit="percentunit",
                    max=1,
                ),
                Panel(
                    "table",
                    "Releases: health over the range, adoption and stage now",
                    "Adoption: share of the environment's sessions and users in the last 24 hours. Stage: adopted "
                    "with >= 10 % of sessions over the last 6 hours, replaced once it no longer has, else low.",
                    (SUMMARY,),
                    overrides=RATE,
                ),
            ),
        ),
    )
