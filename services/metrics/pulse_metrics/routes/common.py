"""The metrics reads' scope: what a segment-aware read answers for, with its completeness rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request

from pulse_common.http.reads import ProjectView, Segment, parse_segment, pool_of, project_view
from pulse_common.periods import period_complete
from pulse_common.runner.tracking import projection_as_of
from pulse_metrics.projections.segment_store import trait_declared
from pulse_metrics.queries.scope import Scope


@dataclass(frozen=True)
class ReadScope:
    """What a segment-aware read answers for: the project and its local range, the segment, and ``as_of`` of the
    projection it reads."""

    view: ProjectView
    segment: Segment | None
    as_of: datetime | None
    declared: bool = False  # the segment's trait is declared: counted from its rollups

    @property
    def query(self) -> Scope:
        view = self.view
        return Scope(view.project, view.timezone, self.segment, view.start, view.end, self.declared)

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
    pool = pool_of(request)
    declared = parsed is not None and await trait_declared(pool, view.project, parsed.trait)
    return ReadScope(view, parsed, await projection_as_of(pool, projection), declared)
