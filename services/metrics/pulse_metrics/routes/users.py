"""``GET /v1/projects/{project}/users/{distinct_id}``: one user's traits, activity and features."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from pulse_common.http.errors import ApiError
from pulse_common.http.reads import Format, ReadableProject, pool_of, project_view
from pulse_common.http.representation import represent
from pulse_common.runner.tracking import projection_as_of
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.queries.users import user_profile

DEFINITIONS = {
    "traits": "traits.v1: the latest value of each trait sent by identify calls, by event time",
    "active_days": "active_days.v1: local days with at least one track, page or screen event",
    "features": "features used, with the local day of first use and the number of events",
}


async def get_user(
    request: Request,
    project: ReadableProject,
    distinct_id: Annotated[str, Path(min_length=1, max_length=500)],
    format: Format = None,
) -> Response:
    view = await project_view(request, project, None, None, default_days=1)
    profile = await user_profile(pool_of(request), project, distinct_id)
    if profile is None:
        raise ApiError(404, "user_not_found", f"distinct_id: no data for {distinct_id!r} in this project")
    as_of = await projection_as_of(pool_of(request), AdoptionProjection.name)
    payload = {
        "project": project,
        "timezone": view.timezone,
        "as_of": as_of.isoformat() if as_of else None,
        "definitions": DEFINITIONS,
        "distinct_id": distinct_id,
        "traits": profile.traits,
        "first_active_day": profile.first_active_day.isoformat() if profile.first_active_day else None,
        "last_active_day": profile.last_active_day.isoformat() if profile.last_active_day else None,
        "active_days": profile.active_days,
        "features": profile.features,
    }
    return represent(request, payload, profile.features, ("feature", "first_used", "events"))


def users_router() -> APIRouter:
    router = APIRouter(tags=["users"])
    router.add_api_route("/v1/projects/{project}/users/{distinct_id}", get_user, methods=["GET"])
    return router
