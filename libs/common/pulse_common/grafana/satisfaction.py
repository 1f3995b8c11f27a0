"""The Satisfaction dashboard: NPS, CSAT and CES over time with their 95 % bands, breakdowns, the crash
experience and the latest verbatims (grafana views of the feedback service)."""

from __future__ import annotations

from pulse_common.grafana.model import ALL, Choice, Dashboard, Panel, Sql, Variable

WINDOW_DAYS = "day BETWEEN $__timeFrom()::date AND $__timeTo()::date"
# The group a series follows: the chosen feature, else the chosen release, else every response.
GROUP = (
    f"dimension = CASE WHEN '$feature' <> '{ALL}' THEN 'feature' WHEN '$release' <> '{ALL}' THEN 'release' ELSE '' END"
    f" AND value = CASE WHEN '$feature' <> '{ALL}' THEN '$feature' WHEN '$release' <> '{ALL}' THEN '$release'"
    " ELSE '' END"
)
BAND = {"fillOpacity": 0, "lineWidth": 2, "spanNulls": True}


def _band_overrides(low: str, high: str) -> tuple[dict[str, object], ...]:
    """The interval drawn as a shaded band between its bounds."""
    return (
        {
            "matcher": {"id": "byName", "options": high},
            "properties": [
                {"id": "custom.fillBelowTo", "value": low},
                {"id": "custom.lineWidth", "value": 0},
                {"id": "custom.fillOpacity", "value": 20},
            ],
        },
        {
            "matcher": {"id": "byName", "options": low},
            "properties": [{"id": "custom.lineWidth", "value": 0}],
        },
    )


def _nps_series() -> Sql:
    return Sql(
        f"""SELECT date_trunc('$interval', day)::timestamp AS time,
  grafana.nps(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint) AS "NPS",
  grafana.nps(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint)
    - grafana.nps_margin(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint) AS "95 % low",
  grafana.nps(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint)
    + grafana.nps_margin(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint) AS "95 % high",
  sum(n)::bigint AS "responses"
FROM grafana.nps_days
WHERE project = '$project' AND {GROUP} AND {WINDOW_DAYS}
GROUP BY 1 ORDER BY 1""",
        "time_series",
    )


def _share_series(kind: str, name: str) -> Sql:
    return Sql(
        f"""SELECT date_trunc('$interval', day)::timestamp AS time,
  sum(good)::float8 / sum(n) AS "{name}",
  grafana.wilson_low(sum(good)::bigint, sum(n)::bigint) AS "95 % low",
  grafana.wilson_high(sum(good)::bigint, sum(n)::bigint) AS "95 % high",
  sum(score_sum)::float8 / sum(n) AS "mean score"
FROM grafana.share_days
WHERE project = '$project' AND kind = '{kind}' AND {GROUP} AND {WINDOW_DAYS}
GROUP BY 1 ORDER BY 1""",
        "time_series",
    )


def _share_panel(kind: str, title: str, description: str) -> Panel:
    return Panel(
        "timeseries",
        title,
        description,
        (_share_series(kind, kind.upper()),),
        unit="percentunit",
        min=0,
        max=1,
        custom=BAND,
        overrides=(*_band_overrides("95 % low", "95 % high"), _hidden("mean score")),
    )


def _nps_by(dimension: str, label: str) -> Sql:
    return Sql(
        f"""SELECT coalesce(nullif(value, ''), '(none)') AS "{label}", sum(n)::bigint AS n,
  grafana.nps(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint) AS nps,
  grafana.nps_margin(sum(promoters)::bigint, sum(detractors)::bigint, sum(n)::bigint) AS margin,
  sum(n) < 30 AS too_small
FROM grafana.nps_days
WHERE project = '$project' AND dimension = {dimension} AND {WINDOW_DAYS}
GROUP BY value ORDER BY n DESC, 1"""
    )


EXPERIENCE = Sql(
    f"""SELECT CASE WHEN c.crashed THEN 'crashed in the window' ELSE 'no crash in the window' END AS experience,
  count(*) AS n,
  grafana.nps(count(*) FILTER (WHERE r.score >= 9), count(*) FILTER (WHERE r.score <= 6), count(*)) AS nps,
  grafana.nps_margin(count(*) FILTER (WHERE r.score >= 9), count(*) FILTER (WHERE r.score <= 6), count(*))
    AS margin
FROM grafana.responses r
CROSS JOIN LATERAL (
  SELECT EXISTS (
    SELECT 1 FROM grafana.crash_days c
    WHERE c.project = r.project AND c.distinct_id = r.distinct_id AND c.{WINDOW_DAYS}
  ) AS crashed
) c
WHERE r.project = '$project' AND r.kind = 'nps' AND r.{WINDOW_DAYS}
GROUP BY 1 ORDER BY 1"""
)

VERBATIMS = Sql(
    """SELECT responded_at AS time, kind, score, comment, distinct_id AS "user", feature, release
FROM grafana.responses
WHERE project = '$project' AND comment IS NOT NULL AND $__timeFilter(responded_at)
ORDER BY responded_at DESC, response_id DESC LIMIT 50"""
)


def dashboard() -> Dashboard:
    return Dashboard(
        uid="pulse-satisfaction",
        title="Pulse · Satisfaction",
        description="NPS, CSAT and CES with their 95 % margins, by group and experience (product.md §6)",
        variables=(
            Variable("project", "Project", "SELECT project FROM grafana.projects ORDER BY 1"),
            Variable(
                "feature",
                "Feature",
                "SELECT DISTINCT value FROM grafana.satisfaction_days "
                "WHERE project = '$project' AND dimension = 'feature' AND value <> '' ORDER BY 1",
                include_all=True,
            ),
            Variable(
                "release",
                "Release",
                "SELECT DISTINCT value FROM grafana.satisfaction_days "
                "WHERE project = '$project' AND dimension = 'release' AND value <> '' ORDER BY 1",
                include_all=True,
            ),
            Variable(
                "trait",
                "Segment trait",
                "SELECT DISTINCT substr(dimension, 7) FROM grafana.satisfaction_days "
                "WHERE project = '$project' AND dimension LIKE 'trait:%' ORDER BY 1",
            ),
            Choice("interval", "Period", ("week", "day", "month")),
        ),
        rows=(
            (
                Panel(
                    "timeseries",
                    "NPS with its 95 % margin",
                    "NPS = 100 (promoters - detractors) / n per period; the band is the 95 % margin of error. "
                    "Follows the chosen feature, else the chosen release, else every response.",
                    (_nps_series(),),
                    width=24,
                    min=-100,
                    max=100,
                    custom=BAND,
                    overrides=(*_band_overrides("95 % low", "95 % high"), _hidden("responses")),
                ),
            ),
            (
                _share_panel(
                    "csat",
                    "CSAT (satisfied 4-5) with its 95 % Wilson interval",
                    "Share of satisfied responses per period; the band is the Wilson score interval.",
                ),
                _share_panel(
                    "ces",
                    "CES (agree 5-7) with its 95 % Wilson interval",
                    "Share of responses agreeing the task was easy per period; the band is the Wilson interval.",
                ),
            ),
            (
                Panel(
                    "table",
                    "NPS by feature",
                    "Over the time range; groups under 30 responses are flagged too small.",
                    (_nps_by("'feature'", "feature"),),
                    width=8,
                ),
                Panel(
                    "table",
                    "NPS by release",
                    "Over the time range; groups under 30 responses are flagged too small.",
                    (_nps_by("'release'", "release"),),
                    width=8,
                ),
                Panel(
                    "table",
                    "NPS by segment ($trait)",
                    "By the value the user's trait had at the end of the response's local day.",
                    (_nps_by("'trait:' || '$trait'", "value"),),
                    width=8,
                ),
            ),
            (
                Panel(
                    "table",
                    "NPS by experience: crashed or not",
                    "Responses of users who had a crashed session in the time range, against everyone else's.",
                    (EXPERIENCE,),
                    width=8,
                ),
                Panel(
                    "table",
                    "Latest verbatims",
                    "The newest 50 comments in the time range.",
                    (VERBATIMS,),
                    width=16,
                    height=10,
                ),
            ),
        ),
    )


def _hidden(name: str) -> dict[str, object]:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "custom.hideFrom", "value": {"legend": True, "tooltip": False, "viz": True}}],
    }
