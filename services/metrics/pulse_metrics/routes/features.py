"""Feature adoption read APIs (product.md §4)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from pulse_common.http.reads import Format, FromDate, IntervalParam, ReadableProject, SegmentParam, ToDate, pool_of
from pulse_common.http.representation import represent
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.queries.features import feature_periods, feature_summaries
from pulse_metrics.routes.common import read_scope

DEFINITIONS = {
    "feature": (
        "feature.v1: an event's properties.feature when present, else the track event's name, unless the project "
        "maps that name to a feature (for events received after the mapping)"
    ),
    "users": "feature_users.v1: distinct users who used the feature in the window (or period)",
    "adoption_rate": "adoption_rate.v1: feature users / active users in the same window (or period)",
    "adopters_total": "adopters_total.v1: users who ever used the feature",
    "median_days_to_adopt": (
        "time_to_adopt.v1: median, over the feature's adopters, of days from the user's first active day to the "
        "first use of the feature (all time)"
    ),
    "new_adopters": "new_adopters.v1: users whose first use of the feature falls in the period",
}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def get_features(
    request: Request,
    project: ReadableProject,
    start: FromDate = None,
    end: ToDate = None,
    segment: SegmentParam = None,
    format: Format = None,
) -> Response:
    """Every feature used in the window, most users first. Without from/to: the last 30 local days."""
    read = await read_scope(request, project, start, end, segment, default_days=30, projection=AdoptionProjection.name)
    features = [
        {
            "feature": f.feature,
            "users": f.users,
            "events": f.events,
            "adoption_rate": _rate(f.users, f.active_users),
            "adopters_total": f.adopters_total,
            "median_days_to_adopt": f.median_days_to_adopt,
        }
        for f in await feature_summaries(pool_of(request), read.query)
    ]
    payload = {**read.context(None), "definitions": DEFINITIONS, "features": features}
    columns = ("feature", "users", "events", "adoption_rate", "adopters_total", "median_days_to_adopt")
    return represent(request, payload, features, columns)


async def get_feature(
    request: Request,
    project: ReadableProject,
    feature: Annotated[str, Path(min_length=1, max_length=200)],
    start: FromDate = None,
    end: ToDate = None,
    interval: IntervalParam = "day",
    segment: SegmentParam = None,
    format: Format = None,
) -> Response:
    """One feature per period holding a date of from..to."""
    read = await read_scope(request, project, start, end, segment, default_days=30, projection=AdoptionProjection.name)
    series = [
        {
            "period": p.period.isoformat(),
            "users": p.users,
            "events": p.events,
            "adoption_rate": _rate(p.users, p.active_users),
            "new_adopters": p.new_adopters,
            "complete": read.complete(p.next_period),
        }
        for p in await feature_periods(
            pool_of(request),
            read.query,
            feature,
            interval,
        )
    ]
    payload = {
        **read.context(interval),
        "feature": feature,
        "definitions": DEFINITIONS,
        "series": series,
    }
    columns = ("period", "users", "events", "adoption_rate", "new_adopters", "complete")
    return represent(request, payload, series, columns)


def features_router() -> APIRouter:
    router = APIRouter(tags=["features"])
    router.add_api_route("/v1/projects/{project}/features", get_features, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/features/{feature}", get_feature, methods=["GET"])
    return router
