"""Satisfaction read APIs (product.md §6): the score over a window with its series, breakdowns, and themes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response

from pulse_common.http.errors import ApiError
from pulse_common.http.reads import (
    Format,
    FromDate,
    IntervalParam,
    ReadableProject,
    SegmentParam,
    ToDate,
    parse_segment,
    pool_of,
)
from pulse_common.http.representation import represent
from pulse_common.periods import local_midnight, periods_covering, shift_period
from pulse_feedback.figures import CLASS_NAMES, DEFINITIONS, by_period, columns, figures
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_feedback.queries import scores, themes
from pulse_feedback.queries.filters import ResponseFilter
from pulse_feedback.routes.common import KindPath, feedback_read
from pulse_feedback.settings import FeedbackSettings
from pulse_feedback.term_vectors import leading_ids, log_odds_z
from pulse_feedback.themes import TermScore, top_terms, weighted_log_odds

Name = Annotated[str | None, Query(min_length=1, max_length=200)]
BREAKDOWN_DIMENSIONS = ("feature", "release", "channel", "survey")
BREAKDOWN_BY = (
    "feature|release|channel|survey|trait:<name>|experience:crash|experience:adopted:<feature>: "
    "group responses by what they named, by the user's trait at the end of the response's local day, by whether "
    "the user had a crashed session in the window, or by whether they had used the feature by that day"
)
EXPERIENCE_DEFINITIONS = {
    "experience:crash": "experience_crash.v1: crashed = respondents with at least one crashed session (started on a "
    "local day of the window, Sentry semantics: a crash after the session exited does not count); not_crashed = "
    "the others",
    "experience:adopted": "experience_adopted.v1: adopters = respondents who had used the feature (properties.feature "
    "or the event name, with the project's feature map) by the end of the response's local day; non_adopters = "
    "the others",
    "trait": "trait.v1: the value the user's trait had at the end of the response's local day (latest identify)",
}


async def get_satisfaction(
    request: Request,
    project: ReadableProject,
    kind: KindPath,
    start: FromDate = None,
    end: ToDate = None,
    interval: IntervalParam = "day",
    feature: Name = None,
    release: Name = None,
    channel: Name = None,
    survey: Name = None,
    segment: SegmentParam = None,
    format: Format = None,
) -> Response:
    """The score over the window (default: the last 30 local days) with n, counts per class, the mean and 95 %
    intervals, and the same per period."""
    parsed = parse_segment(segment)
    projections = (SatisfactionProjection.name,) + ((UsageContextProjection.name,) if parsed else ())
    read = await feedback_read(request, project, start, end, projections)
    view = read.view
    wanted = ResponseFilter(project, kind, view.start, view.end, feature, release, channel, survey, parsed)
    counts = await scores.day_counts(pool_of(request), wanted)
    periods = by_period(counts, interval)
    series = []
    for period in periods_covering(view.start, view.end, interval):
        next_start = shift_period(period, interval, 1)
        series.append(
            {
                "period": period.isoformat(),
                **figures(kind, periods.get(period, {})),
                "complete": read.complete(next_start),
            }
        )
    window: Counter[int] = Counter()
    for _, score, responses in counts:
        window[score] += responses
    payload = {
        **read.context(
            kind=kind,
            interval=interval,
            filters={"feature": feature, "release": release, "channel": channel, "survey": survey},
            segment=segment,
        ),
        "definitions": DEFINITIONS[kind],
        "classes": CLASS_NAMES[kind],
        "window": figures(kind, window),
        "series": series,
    }
    return represent(request, payload, series, ("period", *columns(kind), "complete"))


@dataclass(frozen=True)
class Grouping:
    """What ``by`` asks for: how to read the groups, the projections they come from and their definition."""

    read: Callable[[asyncpg.Pool, ResponseFilter], Awaitable[scores.GroupHistograms]]
    projections: tuple[str, ...] = ()
    definition: str | None = None


def parse_grouping(by: str) -> Grouping:
    dimension, _, argument = by.partition(":")
    argument = argument.strip()
    if dimension in BREAKDOWN_DIMENSIONS and not argument:
        return Grouping(lambda pool, wanted: scores.by_dimension(pool, wanted, dimension))
    if dimension == "trait" and argument:
        return Grouping(
            lambda pool, wanted: scores.by_trait(pool, wanted, argument),
            (UsageContextProjection.name,),
            EXPERIENCE_DEFINITIONS["trait"],
        )
    if by == "experience:crash":
        return Grouping(scores.by_crash, (CrashesProjection.name,), EXPERIENCE_DEFINITIONS["experience:crash"])
    feature = by.removeprefix("experience:adopted:").strip()
    if by.startswith("experience:adopted:") and feature:
        return Grouping(
            lambda pool, wanted: scores.by_adoption(pool, wanted, feature),
            (UsageContextProjection.name,),
            EXPERIENCE_DEFINITIONS["experience:adopted"],
        )
    raise ApiError(400, "invalid_parameter", f"by: {by!r} is not one of {BREAKDOWN_BY.split(':', 1)[0]}")


MinGroup = Annotated[int | None, Query(ge=1, le=100_000, description="groups with fewer responses are flagged small")]
By = Annotated[str, Query(min_length=1, max_length=300, description=BREAKDOWN_BY)]


async def get_breakdown(
    request: Request,
    project: ReadableProject,
    kind: KindPath,
    by: By,
    start: FromDate = None,
    end: ToDate = None,
    min_n: MinGroup = None,
    format: Format = None,
) -> Response:
    """One row per group with its score, n and 95 % interval, largest groups first; groups with fewer than
    ``min_n`` responses (default 30) are flagged ``small``."""
    settings: FeedbackSettings = request.app.state.settings
    threshold = min_n or settings.min_group_responses
    grouping = parse_grouping(by)
    read = await feedback_read(request, project, start, end, (SatisfactionProjection.name, *grouping.projections))
    wanted = ResponseFilter(project, kind, read.view.start, read.view.end)
    groups = await grouping.read(pool_of(request), wanted)
    definitions = DEFINITIONS[kind] | ({"group": grouping.definition} if grouping.definition else {})
    rows = [{"group": group, **figures(kind, histogram)} for group, histogram in groups.items()]
    for row in rows:
        row["small"] = row["n"] < threshold
    rows.sort(key=lambda row: (-row["n"], row["group"] is None, str(row["group"])))
    payload = {
        **read.context(kind=kind, by=by, min_n=threshold),
        "definitions": definitions,
        "classes": CLASS_NAMES[kind],
        "groups": rows,
    }
    return represent(request, payload, rows, ("group", *columns(kind), "small"))


SIDES = {"nps": ("detractors", "promoters"), "csat": ("unsatisfied", "satisfied"), "ces": ("disagree", "agree")}
THEMES_DEFINITION = (
    "themes.v1: terms (lexemes of the project's text-search language, and pairs of adjacent lexemes) ranked by the "
    "weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), comparing comments "
    "of the bad side (detractors 0-6 / unsatisfied 1-3 / disagree 1-4) with the good side (promoters 9-10 / "
    "satisfied 4-5 / agree 5-7); the prior is every comment of the kind in the window; a comment counts a term once; "
    "z is the log-odds over its standard deviation (|z| > 1.96: a difference at 95 %)"
)


async def get_themes(
    request: Request,
    project: ReadableProject,
    kind: KindPath,
    start: FromDate = None,
    end: ToDate = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 15,
    min_count: Annotated[int, Query(ge=1, le=10_000, description="comments a term must appear in")] = 3,
) -> Response:
    """The words and phrases most over-represented in bad-side comments compared with good-side ones, and the
    reverse, each with its counts and two example comments."""
    read = await feedback_read(request, project, start, end, (SatisfactionProjection.name,))
    view = read.view
    pool = pool_of(request)
    window_terms = await themes.window_terms(pool, project, kind, view.start, view.end)
    bad_leaning, good_leaning = await _leading_terms(pool, project, window_terms, limit, min_count)
    window = (local_midnight(view.start, view.zone), local_midnight(view.end + timedelta(days=1), view.zone))
    wanted = [("bad", t.term) for t in bad_leaning] + [("good", t.term) for t in good_leaning]
    found = await themes.examples(pool, project, kind, window, wanted)
    bad_name, good_name = SIDES[kind]

    def listed(side: str, chosen: list[Any], flip: bool) -> list[dict[str, Any]]:
        return [
            {
                "term": t.term,
                "z": round(-t.z if flip else t.z, 3),
                "log_odds": round(-t.delta if flip else t.delta, 4),
                bad_name: t.count if not flip else t.other_count,
                good_name: t.other_count if not flip else t.count,
                "examples": found.get((side, t.term), []),
            }
            for t in chosen
        ]

    leaning = {bad_name: listed("bad", bad_leaning, flip=False), good_name: listed("good", good_leaning, flip=True)}
    payload = {**read.context(kind=kind), "definitions": {"themes": THEMES_DEFINITION}, **leaning}
    rows = [{"leans": side, **term} for side, terms in leaning.items() for term in terms]
    return represent(request, payload, rows, ("leans", "term", "z", "log_odds", bad_name, good_name))


async def _leading_terms(
    pool: asyncpg.Pool, project: str, window: themes.WindowTerms, limit: int, min_count: int
) -> tuple[list[TermScore], list[TermScore]]:
    """The terms leaning to each side: candidates chosen over every term id at once, then scored and ordered by the
    scalar definition (themes.weighted_log_odds) with the whole window's totals."""
    bad, good = window.counts[0], window.counts[2]
    prior = window.counts.sum(axis=0)
    z = log_odds_z(bad, good, prior)
    candidates = {
        int(i)
        for i in (
            *leading_ids(z, bad, limit=limit, min_count=min_count),
            *leading_ids(-z, good, limit=limit, min_count=min_count),
        )
    }
    names = await themes.term_names(pool, project, (i for i in candidates if i not in window.unnumbered))
    names.update({i: window.unnumbered[i] for i in candidates if i in window.unnumbered})
    scores = weighted_log_odds(
        {names[i]: int(bad[i]) for i in candidates},
        {names[i]: int(good[i]) for i in candidates},
        {names[i]: int(prior[i]) for i in candidates},
        totals=(int(bad.sum()), int(good.sum()), int(prior.sum())),
    )
    return top_terms(scores, limit=limit, min_count=min_count)


def satisfaction_router() -> APIRouter:
    router = APIRouter(tags=["satisfaction"])
    router.add_api_route("/v1/projects/{project}/satisfaction/{kind}", get_satisfaction, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/satisfaction/{kind}/breakdown", get_breakdown, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/satisfaction/{kind}/themes", get_themes, methods=["GET"])
    return router
