"""The bounded gauge behind the crash-free alert: of every project's and environment's newest adopted release, the
lowest crash-free session rate over the last 24 hours. One series, not one per project or release, so Prometheus
stays small whatever the number of customers; the alert says "some newest release is unhealthy" and the Release
health dashboard says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from pulse_metrics.queries.releases import ADOPTION_WINDOW, adoption

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewestAdopted:
    project: str
    environment: str
    release: str
    sessions: int  # over the last 24 hours
    crashed: int


def worst_crash_free(releases: Sequence[NewestAdopted], min_sessions: int) -> tuple[float | None, int]:
    """The lowest crash-free session rate among releases with at least ``min_sessions`` sessions (fewer say
    nothing), and how many releases that is over."""
    rates = [1 - r.crashed / r.sessions for r in releases if r.sessions >= min_sessions and r.sessions > 0]
    return (min(rates) if rates else None), len(rates)


async def newest_adopted(pool: asyncpg.Pool, project: str, now_local: datetime) -> list[NewestAdopted]:
    """Per environment of ``project``: its newest release (latest first session) in the adopted stage."""
    end = now_local.replace(minute=0, second=0, microsecond=0, tzinfo=None) + timedelta(hours=1)
    stages = await adoption(pool, project, end, None)
    rows = await pool.fetch(
        """
        SELECT release, environment, min(hour) AS first_seen,
               coalesce(sum(sessions) FILTER (WHERE hour >= $2), 0)::bigint AS sessions,
               coalesce(sum(crashed) FILTER (WHERE hour >= $2), 0)::bigint AS crashed
        FROM metrics.release_hours WHERE project = $1 AND hour < $3 AND sessions <> 0
        GROUP BY release, environment
        """,
        project,
        end - ADOPTION_WINDOW,
        end,
    )
    newest: dict[str, asyncpg.Record] = {}
    for r in rows:
        staged = stages.get((r["release"], r["environment"]))
        if staged is None or staged.stage != "adopted":
            continue
        best = newest.get(r["environment"])
        if best is None or (r["first_seen"], r["release"]) > (best["first_seen"], best["release"]):
            newest[r["environment"]] = r
    return [
        NewestAdopted(project, environment, r["release"], r["sessions"], r["crashed"])
        for environment, r in sorted(newest.items())
    ]


@dataclass(frozen=True)
class ReleaseWatch:
    worst_ratio: Gauge
    releases: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ReleaseWatch:
        return cls(
            worst_ratio=Gauge(
                "pulse_release_newest_adopted_crash_free_sessions_worst_ratio",
                "Lowest crash-free session rate (0..1) over the last 24 hours among each project's and "
                "environment's newest adopted release with enough sessions; NaN when there is none",
                registry=registry,
            ),
            releases=Gauge(
                "pulse_release_newest_adopted_releases",
                "Newest adopted releases (one per project and environment) with enough sessions to be watched",
                registry=registry,
            ),
        )

    async def refresh(self, pool: asyncpg.Pool, min_sessions: int) -> None:
        found: list[NewestAdopted] = []
        for project in await pool.fetch("SELECT project, timezone FROM control.projects"):
            now_local = datetime.now(ZoneInfo(project["timezone"]))
            found += await newest_adopted(pool, project["project"], now_local)
        worst, count = worst_crash_free(found, min_sessions)
        self.worst_ratio.set(float("nan") if worst is None else worst)
        self.releases.set(count)

    async def run(self, pool: asyncpg.Pool, stop: asyncio.Event, every_s: float, min_sessions: int) -> None:
        while not stop.is_set():
            try:
                await self.refresh(pool, min_sessions)
            except (asyncpg.PostgresError, OSError) as exc:  # the database is away: keep the last figures
                log.warning("release watch: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
