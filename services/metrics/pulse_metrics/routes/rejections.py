"""``GET /v1/projects/{project}/rejections``: what ingest refused, by code, with the newest samples."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pulse_common.http.reads import Format, FromDate, ReadableProject, ToDate, as_of, pool_of, project_view
from pulse_common.http.representation import represent
from pulse_common.periods import local_days_window
from pulse_metrics.projections.rejections import RejectionsProjection
from pulse_metrics.queries.rejections import rejections

DEFINITION = (
    "rejections: events refused at ingest, by the local date they were received, counted per rejection code; each "
    "refusal counts (a client sending the same bad event twice is told twice); kept 7 days"
)


async def get_rejections(
    request: Request,
    project: ReadableProject,
    start: FromDate = None,
    end: ToDate = None,
    code: Annotated[str | None, Query(max_length=64, description="only this rejection code")] = None,
    limit: Annotated[int, Query(ge=0, le=100, description="how many newest samples")] = 20,
    format: Format = None,
) -> Response:
    """Without from/to: the last 7 local days (the retention window)."""
    view = await project_view(request, project, start, end, default_days=7)
    window_start, window_end = local_days_window(view.start, view.end, view.zone)
    summary = await rejections(pool_of(request), project, window_start, window_end, code, limit)
    counts = [{"code": c, "count": n} for c, n in summary.counts]
    payload = {
        "project": project,
        "timezone": view.timezone,
        "from": view.start.isoformat(),
        "to": view.end.isoformat(),
        "as_of": await as_of(request, RejectionsProjection.name),
        "definition": DEFINITION,
        "code": code,
        "total": sum(n for _, n in summary.counts),
        "counts": counts,
        "samples": summary.samples,
    }
    return represent(request, payload, counts, ("code", "count"))


def rejections_router() -> APIRouter:
    router = APIRouter(tags=["rejections"])
    router.add_api_route("/v1/projects/{project}/rejections", get_rejections, methods=["GET"])
    return router
