"""What every metrics read route needs: the project (authorized), its timezone, a checked date range, ``as_of``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, Query, Request

from pulse_common.http.auth import require_read_access
from pulse_common.http.errors import ApiError
from pulse_common.periods import Interval, local_today, period_complete
from pulse_common.projects import project_timezones
from pulse_common.runner.tracking import projection_as_of
from pulse_metrics.queries.scope import Scope, Segment
from pulse_metrics.settings import MetricsSettings

ReadableProject = Annotated[str, Depends(require_read_access)]
FromDate = Annotated[date | None, Query(alias="from", description="First local date, inclusive (YYYY-MM-DD)")]
ToDate = Annotated[date | None, Query(alias="to", description="Last local date, inclusive (YYYY-MM-DD)")]
Format = Annotated[str | None, Query(pattern="^(json|csv)$", description="csv for a spreadsheet")]
IntervalParam = Annotated[Interval, Query(description="day, week (ISO, Monday start) or month, in local time")]
SegmentParam = Annotated[
    str | None,
    Query(
        max_length=500,
        description="<trait>:<value>, e.g. plan:enterprise: count each user-day under the value the user had then",
    ),
]


def parse_segment(segment: str | None) -> Segment | None:
    if segment is None:
        return None
    trait, separator, value = segment.partition(":")
    if not separator or not trait.strip():
        raise ApiError(400, "invalid_parameter", f"segment: {segment!r} is not <trait>:<value> (e.g. plan:enterprise)")
    return Segment(trait.strip(), value)


@dataclass(frozen=True)
class ProjectView:
    project: str
    timezone: str
    zone: ZoneInfo
    start: date
    end: date


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def project_view(
    request: Request, project: str, start: date | None, end: date | None, *, default_days: int
) -> ProjectView:
    """The project's timezone and the local date range asked for; without ``from``/``to``, the last
    ``default_days`` local days up to today."""
    settings: MetricsSettings = request.app.state.settings
    timezone = (await project_timezones(pool_of(request), [project])).get(project)
    if timezone is None:  # deleted while its key was cached
        raise ApiError(404, "project_not_found", f"no project {project!r} for this key")
    zone = ZoneInfo(timezone)
    end = end or local_today(zone)
    start = start or end - timedelta(days=default_days - 1)
    if end < start:
        raise ApiError(400, "invalid_parameter", f"to: {end} is before from: {start}")
    if (end - start).days + 1 > settings.max_range_days:
        raise ApiError(400, "invalid_parameter", f"to: the range may span at most {settings.max_range_days} days")
    return ProjectView(project, timezone, zone, start, end)


async def as_of(request: Request, projection_name: str) -> str | None:
    value: datetime | None = await projection_as_of(pool_of(request), projection_name)
    return value.isoformat() if value else None


@dataclass(frozen=True)
class ReadScope:
    """What a segment-aware read answers for: the project and its local range, the segment, and ``as_of`` of the
    projection it reads."""

    view: ProjectView
    segment: Segment | None
    as_of: datetime | None

    @property
    def query(self) -> Scope:
        view = self.view
        return Scope(view.project, view.timezone, self.segment, view.start, view.end)

    def complete(self, next_start: date) -> bool:
        return period_complete(next_start, self.view.zone, self.as_of)

    def context(self, interval: str | None = None) -> dict[str, Any]:
        """The fields every response starts with."""
        context: dict[str, Any] = {
            "project": self.view.project,
            "timezone": self.view.timezone,
            "from": self.view.start.isoformat(),
            "to": self.view.end.isoformat(),
        }
        if interval is not None:
            context["interval"] = interval
        context["segment"] = f"{self.segment.trait}:{self.segment.value}" if self.segment else None
        context["as_of"] = self.as_of.isoformat() if self.as_of else None
        return context


async def read_scope(
    request: Request,
    project: str,
    start: date | None,
    end: date | None,
    segment: str | None,
    *,
    default_days: int,
    projection: str,
) -> ReadScope:
    parsed = parse_segment(segment)
    view = await project_view(request, project, start, end, default_days=default_days)
    return ReadScope(view, parsed, await projection_as_of(pool_of(request), projection))
