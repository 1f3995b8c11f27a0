"""What every feedback read answers with besides its figures: the project, timezone, dates and ``as_of`` of the
projections it read."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Request

from pulse_common.http.reads import ProjectView, pool_of, project_view
from pulse_common.periods import period_complete
from pulse_common.runner.tracking import projection_as_of
from pulse_feedback.scores import Kind

KindPath = Annotated[Kind, Path(description="nps, csat or ces")]
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class FeedbackRead:
    view: ProjectView
    # The oldest as_of of the projections read: every event that arrived before it is in the answer.
    as_of: datetime | None

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "project": self.view.project,
            "timezone": self.view.timezone,
            "from": self.view.start.isoformat(),
            "to": self.view.end.isoformat(),
            **extra,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    def complete(self, next_start: date) -> bool:
        return period_complete(next_start, self.view.zone, self.as_of)


async def feedback_read(
    request: Request, project: str, start: date | None, end: date | None, projections: tuple[str, ...]
) -> FeedbackRead:
    view = await project_view(request, project, start, end, default_days=DEFAULT_DAYS)
    pool = pool_of(request)
    marks = await asyncio.gather(*(projection_as_of(pool, name) for name in projections))
    as_of = None if any(mark is None for mark in marks) else min(mark for mark in marks if mark is not None)
    return FeedbackRead(view, as_of)
