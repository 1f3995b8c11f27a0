"""``GET /v1/projects/{project}/events/daily``: events per name per local day."""

from fastapi import APIRouter, Request, Response

from pulse_common.http.reads import Format, FromDate, ReadableProject, ToDate, as_of, pool_of, project_view
from pulse_common.http.representation import represent
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.queries.daily_events import daily_counts

DEFINITION = (
    "daily_event_count: track events per event name, page views as $page and screen views as $screen, per local "
    "day of the project's timezone by event time; a repeated messageId counts once"
)


async def events_daily(
    request: Request, project: ReadableProject, start: FromDate = None, end: ToDate = None, format: Format = None
) -> Response:
    """Without from/to: the last 30 local days."""
    view = await project_view(request, project, start, end, default_days=30)
    series = [
        {"date": c.day.isoformat(), "event": c.event, "count": c.count}
        for c in await daily_counts(pool_of(request), project, view.start, view.end)
    ]
    payload = {
        "project": project,
        "timezone": view.timezone,
        "from": view.start.isoformat(),
        "to": view.end.isoformat(),
        "as_of": await as_of(request, DailyEventsProjection.name),
        "definition": DEFINITION,
        "series": series,
    }
    return represent(request, payload, series, ("date", "event", "count"))


def events_router() -> APIRouter:
    router = APIRouter(tags=["events"])
    router.add_api_route("/v1/projects/{project}/events/daily", events_daily, methods=["GET"])
    return router
