"""What every read route needs (metrics and feedback): the project (authorized), its timezone, a checked local date
range, the segment asked for, ``as_of`` of the projection read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Depends, Query, Request

from pulse_common.http.auth import require_read_access
from pulse_common.http.errors import ApiError
from pulse_common.periods import Interval, local_today
from pulse_common.projects import project_timezones
from pulse_common.runner.tracking import projection_as_of
from pulse_common.settings import ReadApiSettings

ReadableProject = Annotated[str, Depends(require_read_access)]
# Dates a read can name: far enough either way for any product, and away from the ends of the calendar, where
# the date arithmetic of a window (a default start, the next period, a local midnight) would overflow.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(9000, 12, 31)
FromDate = Annotated[
    date | None,
    Query(alias="from", ge=EARLIEST_DATE, le=LATEST_DATE, description="First local date, inclusive (YYYY-MM-DD)"),
]
ToDate = Annotated[
    date | None,
    Query(alias="to", ge=EARLIEST_DATE, le=LATEST_DATE, description="Last local date, inclusive (YYYY-MM-DD)"),
]
Format = Annotated[str | None, Query(pattern="^(json|csv)$", description="csv for a spreadsheet")]
IntervalParam = Annotated[Interval, Query(description="day, week (ISO, Monday start) or month, in local time")]
SegmentParam = Annotated[
    str | None,
    Query(
        max_length=500,
        description="<trait>:<value>, e.g. plan:enterprise: count each user-day under the value the user had then",
    ),
]


@dataclass(frozen=True)
class Segment:
    """``segment=<trait>:<value>``: count only what a user did while their trait had that value."""

    trait: str
    value: str


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
    settings: ReadApiSettings = request.app.state.settings
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
