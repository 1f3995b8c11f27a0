"""Release-health read APIs (product.md §5)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from pulse_common.http.errors import ApiError
from pulse_common.http.reads import Format, FromDate, ProjectView, ReadableProject, ToDate, pool_of, project_view
from pulse_common.http.representation import represent
from pulse_common.runner.tracking import projection_as_of
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from pulse_metrics.queries.release_math import METHOD, compare_proportions, free_rate
from pulse_metrics.queries.releases import (
    Adoption,
    HealthCounts,
    ReleaseInterval,
    adoption,
    health_periods,
    known_releases,
    release_summaries,
)

DEFINITIONS = {
    "sessions": "sessions.v1: sessions started in the window (deduplicated by session id) plus SDK aggregates",
    "crashed_sessions": "crashed_sessions.v1: sessions whose final state is crashed",
    "errored_sessions": "errored_sessions.v1: sessions neither crashed nor abnormal that had errors",
    "abnormal_sessions": "abnormal_sessions.v1: sessions whose final state is abnormal",
    "users": "release_users.v1: distinct users with a session in the window",
    "crash_free_sessions": "crash_free_sessions.v1: 1 - crashed sessions / sessions",
    "crash_free_users": "crash_free_users.v1: 1 - users with a crashed session / users",
    "healthy_sessions_rate": "healthy_sessions.v1: sessions neither errored, crashed nor abnormal / sessions",
    "healthy_users_rate": "healthy_users.v1: users none of whose sessions was errored, crashed or abnormal / users",
    "adoption_sessions": (
        "adoption_sessions.v1: the release's share of its environment's sessions in the last 24 hours of the window"
    ),
    "adoption_users": "adoption_users.v1: the release's share of its environment's users in the last 24 hours",
    "stage": (
        "stage.v1: adopted with >= 10 % of the environment's sessions over the last 6 hours of the window; "
        "replaced when it had that share before and no longer has; low otherwise"
    ),
}

EnvironmentParam = Annotated[str | None, Query(max_length=200, description="one environment (default: every one)")]
ReleaseName = Annotated[str, Path(min_length=1, max_length=200)]


def rates(counts: HealthCounts) -> dict[str, Any]:
    unhealthy = counts.errored + counts.crashed + counts.abnormal
    return {
        "sessions": counts.sessions,
        "users": counts.users,
        "crashed_sessions": counts.crashed,
        "errored_sessions": counts.errored,
        "abnormal_sessions": counts.abnormal,
        "crashed_users": counts.crashed_users,
        "crash_free_sessions": free_rate(counts.crashed, counts.sessions),
        "crash_free_users": free_rate(counts.crashed_users, counts.users),
        "healthy_sessions_rate": free_rate(unhealthy, counts.sessions),
        "healthy_users_rate": free_rate(counts.unhealthy_users, counts.users),
    }


RATE_COLUMNS = tuple(rates(HealthCounts(0, 0, 0, 0, 0, 0, 0)))


def window_end(to: datetime, now_local: datetime) -> datetime:
    """The end of the window as a local hour: the end of ``to``, or the end of the current hour if sooner."""
    current = now_local.replace(minute=0, second=0, microsecond=0, tzinfo=None) + timedelta(hours=1)
    return min(to, current)


async def require_releases(request: Request, project: str, environment: str, named: dict[str, str]) -> None:
    """404 naming the parameter when a release never had a session in the environment (a typo shows at once)."""
    known = await known_releases(pool_of(request), project, environment, list(named.values()))
    for parameter, release in named.items():
        if release not in known:
            raise ApiError(
                404, "release_not_found", f"{parameter}: no session of release {release!r} in {environment!r}"
            )


@dataclass(frozen=True)
class ReleaseRead:
    """A release-health read: the project and its local range, and ``as_of`` of the release-health projection."""

    view: ProjectView
    as_of: datetime | None

    def context(self) -> dict[str, Any]:
        """The fields every response starts with."""
        return {
            "project": self.view.project,
            "timezone": self.view.timezone,
            "from": self.view.start.isoformat(),
            "to": self.view.end.isoformat(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    def complete(self, local_end: datetime) -> bool:
        """A period (ending at a naive local time) is complete once it ended at or before ``as_of``."""
        return self.as_of is not None and local_end.replace(tzinfo=self.view.zone) <= self.as_of


async def release_read(request: Request, project: str, start: date | None, end: date | None) -> ReleaseRead:
    view = await project_view(request, project, start, end, default_days=14)
    return ReleaseRead(view, await projection_as_of(pool_of(request), ReleaseHealthProjection.name))


async def get_releases(
    request: Request,
    project: ReadableProject,
    environment: EnvironmentParam = None,
    start: FromDate = None,
    end: ToDate = None,
    format: Format = None,
) -> Response:
    """Every release and environment with sessions in the window, newest release first. Default: 14 local days."""
    read = await release_read(request, project, start, end)
    view = read.view
    pool = pool_of(request)
    last = window_end(datetime.combine(view.end + timedelta(days=1), datetime.min.time()), datetime.now(view.zone))
    # Independent reads on separate connections: the answer waits for the slowest, not for their sum.
    summaries, adopted = await asyncio.gather(
        release_summaries(pool, project, view.start, view.end, environment),
        adoption(pool, project, last, environment),
    )
    releases = []
    for s in summaries:
        share = adopted.get((s.release, s.environment), Adoption(None, None, "low"))
        releases.append(
            {
                "release": s.release,
                "environment": s.environment,
                "first_seen": s.first_seen.isoformat(),
                "last_seen": s.last_seen.isoformat(),
                **rates(s.counts),
                "adoption_sessions": share.sessions,
                "adoption_users": share.users,
                "stage": share.stage,
            }
        )
    payload = {**read.context(), "environment": environment, "definitions": DEFINITIONS, "releases": releases}
    columns = ("release", "environment", "first_seen", "last_seen", *RATE_COLUMNS)
    return represent(request, payload, releases, (*columns, "adoption_sessions", "adoption_users", "stage"))


async def get_release_health(
    request: Request,
    project: ReadableProject,
    release: ReleaseName,
    environment: Annotated[str, Query(max_length=200)] = "production",
    start: FromDate = None,
    end: ToDate = None,
    interval: Annotated[ReleaseInterval, Query(description="hour or day, local time")] = "day",
    format: Format = None,
) -> Response:
    """One release's figures per local hour or day, so a regression shows when it started."""
    read = await release_read(request, project, start, end)
    view = read.view
    if interval == "hour" and (view.end - view.start).days > 31:
        raise ApiError(400, "invalid_parameter", "to: an hourly series may span at most 31 days")
    await require_releases(request, project, environment, {"release": release})
    periods = await health_periods(pool_of(request), project, release, environment, view.start, view.end, interval)
    series = [
        {
            "period": p.start.isoformat(),
            **rates(p.counts),
            "complete": read.complete(p.end),
        }
        for p in periods
    ]
    payload = {
        **read.context(),
        "release": release,
        "environment": environment,
        "interval": interval,
        "definitions": DEFINITIONS,
        "series": series,
    }
    columns = ("period", *RATE_COLUMNS, "complete")
    return represent(request, payload, series, columns)


async def get_release_comparison(
    request: Request,
    project: ReadableProject,
    base: Annotated[str, Query(min_length=1, max_length=200)],
    candidate: Annotated[str, Query(min_length=1, max_length=200)],
    environment: Annotated[str, Query(max_length=200)] = "production",
    start: FromDate = None,
    end: ToDate = None,
    format: Format = None,
) -> Response:
    """Two releases side by side, each rate's difference and whether it is significant."""
    read = await release_read(request, project, start, end)
    view = read.view
    await require_releases(request, project, environment, {"base": base, "candidate": candidate})
    found = {
        s.release: s
        for s in await release_summaries(
            pool_of(request), project, view.start, view.end, environment, [base, candidate]
        )
    }
    zero = HealthCounts(0, 0, 0, 0, 0, 0, 0)
    counts = {name: found[name].counts if name in found else zero for name in (base, candidate)}

    def successes(c: HealthCounts) -> dict[str, tuple[int, int]]:
        return {
            "crash_free_sessions": (c.sessions - c.crashed, c.sessions),
            "crash_free_users": (c.users - c.crashed_users, c.users),
            "healthy_sessions_rate": (c.sessions - c.errored - c.crashed - c.abnormal, c.sessions),
            "healthy_users_rate": (c.users - c.unhealthy_users, c.users),
        }

    comparisons = []
    for metric, base_pair in successes(counts[base]).items():
        result = compare_proportions(base_pair, successes(counts[candidate])[metric])
        comparisons.append(
            {
                "metric": metric,
                "base": result.base,
                "candidate": result.candidate,
                "difference": result.difference,
                "z": result.z,
                "p_value": result.p_value,
                "significant": result.significant,
            }
        )
    payload = {
        **read.context(),
        "environment": environment,
        "base": {"release": base, **rates(counts[base])},
        "candidate": {"release": candidate, **rates(counts[candidate])},
        "method": METHOD,
        "definitions": DEFINITIONS,
        "comparisons": comparisons,
    }
    columns = ("metric", "base", "candidate", "difference", "z", "p_value", "significant")
    return represent(request, payload, comparisons, columns)


def releases_router() -> APIRouter:
    router = APIRouter(tags=["release health"])
    router.add_api_route("/v1/projects/{project}/releases", get_releases, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/releases/compare", get_release_comparison, methods=["GET"])
    router.add_api_route("/v1/projects/{project}/releases/{release}/health", get_release_health, methods=["GET"])
    return router
