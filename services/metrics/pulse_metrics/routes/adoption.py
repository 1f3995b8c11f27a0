"""Adoption read APIs (product.md §4): active users, lifecycle, retention. Exact counts, project timezone."""

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from pulse_common.http.reads import Format, FromDate, IntervalParam, ReadableProject, SegmentParam, ToDate, pool_of
from pulse_common.http.representation import represent
from pulse_common.periods import Interval, shift_period
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.queries.adoption import active_users, lifecycle, retention
from pulse_metrics.routes.common import read_scope

ACTIVE = "active user: a user with at least one track, page or screen event on the local day"
DEFINITIONS_ACTIVE = {
    "dau": f"dau.v1: users active on the local day ({ACTIVE})",
    "wau": "wau.v1: distinct users active on any of the 7 local days ending on the day",
    "mau": "mau.v1: distinct users active on any of the 30 local days ending on the day",
    "stickiness": "stickiness.v1: dau / mau of the day (null when mau is 0)",
}
DEFINITIONS_LIFECYCLE = {
    "new": "lifecycle.new.v1: users whose first-ever active day falls in the period",
    "returning": "lifecycle.returning.v1: users active in the period and in the previous one",
    "resurrecting": "lifecycle.resurrecting.v1: users active in the period, not in the previous one, and not new",
    "dormant": "lifecycle.dormant.v1: users active in the previous period and not in this one, as a negative count",
}
DEFINITIONS_RETENTION = {
    "on": "retention.on.v1: share of the cohort (users by first active period) active in period N exactly",
    "on_or_after": "retention.on_or_after.v1: share of the cohort active in period N or any later period",
}


async def get_active_users(
    request: Request,
    project: ReadableProject,
    start: FromDate = None,
    end: ToDate = None,
    segment: SegmentParam = None,
    format: Format = None,
) -> Response:
    """Per local date: DAU, WAU, MAU and stickiness. Without from/to: the last 30 local days."""
    read = await read_scope(request, project, start, end, segment, default_days=30, projection=AdoptionProjection.name)
    series = [
        {
            "date": a.day.isoformat(),
            "dau": a.dau,
            "wau": a.wau,
            "mau": a.mau,
            "stickiness": a.dau / a.mau if a.mau else None,
            "complete": read.complete(a.day + timedelta(days=1)),
        }
        for a in await active_users(pool_of(request), read.query)
    ]
    payload = {**read.context("day"), "definitions": DEFINITIONS_ACTIVE, "series": series}
    return represent(request, payload, series, ("date", "dau", "wau", "mau", "stickiness", "complete"))


async def get_lifecycle(
    request: Request,
    project: ReadableProject,
    start: FromDate = None,
    end: ToDate = None,
    interval: IntervalParam = "day",
    segment: SegmentParam = None,
    format: Format = None,
) -> Response:
    """Per period holding a date of from..to (whole periods): new, returning, resurrecting, dormant (negative)."""
    read = await read_scope(request, project, start, end, segment, default_days=30, projection=AdoptionProjection.name)
    series = [
        {
            "period": p.period.isoformat(),
            "new": p.new,
            "returning": p.returning,
            "resurrecting": p.resurrecting,
            "dormant": p.dormant,
            "complete": read.complete(p.next_period),
        }
        for p in await lifecycle(pool_of(request), read.query, interval)
    ]
    payload = {**read.context(interval), "definitions": DEFINITIONS_LIFECYCLE, "series": series}
    return represent(request, payload, series, ("period", "new", "returning", "resurrecting", "dormant", "complete"))


async def get_retention(
    request: Request,
    project: ReadableProject,
    start: FromDate = None,
    end: ToDate = None,
    interval: IntervalParam = "week",
    periods: Annotated[int, Query(ge=0, le=104, description="N: rates for periods 0..N")] = 8,
    mode: Annotated[Literal["on", "on_or_after"], Query(description="on: active in period N exactly")] = "on",
    segment: SegmentParam = None,
    format: Format = None,
) -> Response:
    """Cohorts by first active period, one per period holding a date of from..to. Without from/to: 12 weeks."""
    read = await read_scope(request, project, start, end, segment, default_days=84, projection=AdoptionProjection.name)
    cohorts: list[dict[str, Any]] = []
    found = await retention(pool_of(request), read.query, interval, periods)
    for cohort in found:
        counts = [on if mode == "on" else on_or_after for _, on, on_or_after in cohort.periods]
        cohorts.append(
            {
                "cohort": cohort.start.isoformat(),
                "size": cohort.size,
                "rates": [n / cohort.size if cohort.size else None for n in counts],
                "counts": counts,
                "complete": [read.complete(e) for e in _period_ends(cohort.periods, interval)],
            }
        )
    payload = {
        **read.context(interval),
        "periods": periods,
        "mode": mode,
        "definition": DEFINITIONS_RETENTION[mode],
        "cohorts": cohorts,
    }
    rows = [
        {"cohort": c["cohort"], "size": c["size"], **{f"rate_{n}": rate for n, rate in enumerate(c["rates"])}}
        for c in cohorts
    ]
    return represent(request, payload, rows, ("cohort", "size", *(f"rate_{n}" for n in range(periods + 1))))


def _period_ends(periods: list[tuple[date, int, int]], interval: Interval) -> list[date]:
    return [shift_period(start, interval, 1) for start, _, _ in periods]


def adoption_router() -> APIRouter:
    router = APIRouter(tags=["adoption"])
    router.add_api_route("/v1/projects/{project}/active-users", get_active_users, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/lifecycle", get_lifecycle, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/retention", get_retention, methods=["GET"])
    return router
