"""``GET /v1/projects/{project}/events/daily``: events per name per local day."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from pulse_common.http.auth import require_read_access
from pulse_common.http.errors import ApiError
from pulse_common.http.representation import represent
from pulse_common.runner.tracking import projection_as_of
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.queries.daily_events import daily_counts, project_timezone
from pulse_metrics.settings import MetricsSettings

router = APIRouter()

ReadableProject = Annotated[str, Depends(require_read_access)]

DEFINITION = (
    "daily_event_count: track events per event name, page views as $page and screen views as $screen, per local "
    "day of the project's timezone by event time; a repeated messageId counts once"
)


@router.get("/v1/projects/{project}/events/daily")
async def events_daily(
    request: Request,
    project: ReadableProject,
    start: Annotated[date, Query(alias="from", description="First local date, inclusive (YYYY-MM-DD)")],
    end: Annotated[date, Query(alias="to", description="Last local date, inclusive (YYYY-MM-DD)")],
    format: Annotated[str | None, Query(pattern="^(json|csv)$", description="csv for a spreadsheet")] = None,
) -> Response:
    settings: MetricsSettings = request.app.state.settings
    if end < start:
        raise ApiError(400, "invalid_parameter", f"to: {end} is before from: {start}")
    if (end - start).days + 1 > settings.max_range_days:
        raise ApiError(400, "invalid_parameter", f"to: the range may span at most {settings.max_range_days} days")
    pool = request.app.state.pool
    timezone = await project_timezone(pool, project)
    as_of = await projection_as_of(pool, DailyEventsProjection.name)
    series = [
        {"date": c.day.isoformat(), "event": c.event, "count": c.count}
        for c in await daily_counts(pool, project, start, end)
    ]
    payload = {
        "project": project,
        "timezone": timezone,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": as_of.isoformat() if as_of else None,
        "definition": DEFINITION,
        "series": series,
    }
    return represent(request, payload, series, ("date", "event", "count"))
