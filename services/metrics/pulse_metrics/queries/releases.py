"""Release-health figures (product.md §5) from the release rollups: counts per release and environment over local
dates, per period, adoption over the last 24 hours of the window and the stage."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias

import asyncpg

from pulse_common.db import Connection
from pulse_metrics.projections.release_rollups import RECENT_WINDOW
from pulse_metrics.queries.release_math import Stage, stages

Db: TypeAlias = "asyncpg.Pool | Connection"
ReleaseInterval = Literal["hour", "day"]
ADOPTION_WINDOW = RECENT_WINDOW  # the longest window the recent user links count


@dataclass(frozen=True)
class HealthCounts:
    sessions: int
    errored: int
    crashed: int
    abnormal: int
    users: int
    crashed_users: int
    unhealthy_users: int


@dataclass(frozen=True)
class ReleaseSummary:
    release: str
    environment: str
    first_seen: datetime
    last_seen: datetime
    counts: HealthCounts


def _counts(row: asyncpg.Record) -> HealthCounts:
    return HealthCounts(
        sessions=row["sessions"] or 0,
        errored=row["errored"] or 0,
        crashed=row["crashed"] or 0,
        abnormal=row["abnormal"] or 0,
        users=row["users"] or 0,
        crashed_users=row["crashed_users"] or 0,
        unhealthy_users=row["unhealthy_users"] or 0,
    )


async def release_summaries(
    db: Db, project: str, first: date, last: date, environment: str | None, releases: list[str] | None = None
) -> list[ReleaseSummary]:
    """Per release and environment with sessions started in ``first``..``last`` (local), newest release first."""
    rows = await db.fetch(
        """
        WITH counts AS (
            SELECT release, environment, sum(sessions)::bigint AS sessions, sum(errored)::bigint AS errored,
                   sum(crashed)::bigint AS crashed, sum(abnormal)::bigint AS abnormal
            FROM metrics.release_hours
            WHERE project = $1 AND hour >= $2::date AND hour < $3::date + 1
              AND ($4::text IS NULL OR environment = $4) AND ($5::text[] IS NULL OR release = ANY($5))
            GROUP BY release, environment
        ),
        users AS (
            SELECT release, environment,
                   sum(users) FILTER (WHERE kind = 'any')::bigint AS users,
                   sum(users) FILTER (WHERE kind = 'crashed')::bigint AS crashed_users,
                   sum(users) FILTER (WHERE kind = 'unhealthy')::bigint AS unhealthy_users
            FROM metrics.release_user_links
            WHERE project = $1 AND hour >= $2::date AND hour < $3::date + 1 AND previous_day < $2
              AND ($4::text IS NULL OR environment = $4) AND ($5::text[] IS NULL OR release = ANY($5))
            GROUP BY release, environment
        ),
        seen AS (
            SELECT release, environment, min(hour) AS first_seen, max(hour) AS last_seen
            FROM metrics.release_hours
            WHERE project = $1 AND sessions <> 0
              AND ($4::text IS NULL OR environment = $4) AND ($5::text[] IS NULL OR release = ANY($5))
            GROUP BY release, environment
        )
        SELECT c.*, u.users, u.crashed_users, u.unhealthy_users, s.first_seen, s.last_seen
        FROM counts c JOIN seen s USING (release, environment) LEFT JOIN users u USING (release, environment)
        WHERE c.sessions > 0
        ORDER BY s.first_seen DESC, c.release DESC, c.environment
        """,
        project,
        first,
        last,
        environment,
        releases,
    )
    return [ReleaseSummary(r["release"], r["environment"], r["first_seen"], r["last_seen"], _counts(r)) for r in rows]


@dataclass(frozen=True)
class Adoption:
    sessions: float | None
    users: float | None
    stage: Stage


async def adoption(
    pool: asyncpg.Pool, project: str, end: datetime, environment: str | None
) -> dict[tuple[str, str], Adoption]:
    """Per (release, environment) of one environment (None: every one): its share of the environment's sessions
    and users in the 24 hours before ``end`` (a local hour), and its stage. The three reads run concurrently."""
    start = end - ADOPTION_WINDOW
    # Distinct users from the recent links: those in the window whose previous active hour is before it.
    hourly, release_users, environment_users = await asyncio.gather(
        pool.fetch(
            "SELECT release, environment, hour, sessions FROM metrics.release_hours "
            "WHERE project = $1 AND ($2::text IS NULL OR environment = $2) AND hour < $3 AND sessions <> 0",
            project,
            environment,
            end,
        ),
        pool.fetch(
            "SELECT release, environment, sum(users)::bigint AS users FROM metrics.release_recent_user_links "
            "WHERE project = $1 AND hour >= $3 AND hour < $4 AND ($2::text IS NULL OR environment = $2) "
            "AND previous_hour < $3 GROUP BY release, environment",
            project,
            environment,
            start,
            end,
        ),
        pool.fetch(
            "SELECT environment, sum(users)::bigint AS users FROM metrics.environment_recent_user_links "
            "WHERE project = $1 AND hour >= $3 AND hour < $4 AND ($2::text IS NULL OR environment = $2) "
            "AND previous_hour < $3 GROUP BY environment",
            project,
            environment,
            start,
            end,
        ),
    )
    by_environment: dict[str, dict[str, dict[datetime, int]]] = {}
    for r in hourly:
        by_environment.setdefault(r["environment"], {}).setdefault(r["release"], {})[r["hour"]] = r["sessions"]
    users_of_release = {(r["release"], r["environment"]): r["users"] for r in release_users}
    users_of_environment = {r["environment"]: r["users"] for r in environment_users}
    result: dict[tuple[str, str], Adoption] = {}
    for environment, releases in by_environment.items():
        staged = stages(releases, end)
        recent = {release: sum(n for hour, n in hours.items() if hour >= start) for release, hours in releases.items()}
        total = sum(recent.values())
        for release in releases:
            people = users_of_environment.get(environment, 0)
            result[(release, environment)] = Adoption(
                sessions=recent[release] / total if total else None,
                users=users_of_release.get((release, environment), 0) / people if people else None,
                stage=staged[release],
            )
    return result


async def known_releases(db: Db, project: str, environment: str, releases: list[str]) -> set[str]:
    """Which of ``releases`` ever had a session in the environment."""
    rows = await db.fetch(
        "SELECT DISTINCT release FROM metrics.release_hours "
        "WHERE project = $1 AND environment = $2 AND release = ANY($3::text[]) AND sessions <> 0",
        project,
        environment,
        releases,
    )
    return {r["release"] for r in rows}


@dataclass(frozen=True)
class HealthPeriod:
    start: datetime
    end: datetime
    counts: HealthCounts


async def health_periods(
    db: Db, project: str, release: str, environment: str, first: date, last: date, interval: ReleaseInterval
) -> list[HealthPeriod]:
    """One release's figures per local hour or day of ``first``..``last``."""
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    period = "l.hour" if interval == "hour" else "date_trunc('day', l.hour)"
    # Users of a period: links in it whose previous active day is before the period (an hour: every link of it).
    new_in_period = "true" if interval == "hour" else "l.previous_day < l.hour::date"
    counts = await db.fetch(
        f"""
        SELECT {period.replace("l.", "h.")} AS start, sum(sessions)::bigint AS sessions,
               sum(errored)::bigint AS errored, sum(crashed)::bigint AS crashed, sum(abnormal)::bigint AS abnormal
        FROM metrics.release_hours h
        WHERE project = $1 AND release = $2 AND environment = $3 AND hour >= $4::date AND hour < $5::date + 1
        GROUP BY 1
        """,
        project,
        release,
        environment,
        first,
        last,
    )
    users = await db.fetch(
        f"""
        SELECT {period} AS start,
               sum(users) FILTER (WHERE kind = 'any')::bigint AS users,
               sum(users) FILTER (WHERE kind = 'crashed')::bigint AS crashed_users,
               sum(users) FILTER (WHERE kind = 'unhealthy')::bigint AS unhealthy_users
        FROM metrics.release_user_links l
        WHERE project = $1 AND release = $2 AND environment = $3 AND hour >= $4::date AND hour < $5::date + 1
          AND {new_in_period}
        GROUP BY 1
        """,
        project,
        release,
        environment,
        first,
        last,
    )
    by_start: dict[datetime, dict[str, int]] = {}
    for r in (*counts, *users):
        by_start.setdefault(r["start"], {}).update({k: v for k, v in r.items() if k != "start" and v is not None})
    periods = []
    moment = datetime.combine(first, datetime.min.time())
    stop = datetime.combine(last + timedelta(days=1), datetime.min.time())
    while moment < stop:
        found = by_start.get(moment, {})
        periods.append(
            HealthPeriod(
                moment,
                moment + step,
                HealthCounts(
                    sessions=found.get("sessions", 0),
                    errored=found.get("errored", 0),
                    crashed=found.get("crashed", 0),
                    abnormal=found.get("abnormal", 0),
                    users=found.get("users", 0),
                    crashed_users=found.get("crashed_users", 0),
                    unhealthy_users=found.get("unhealthy_users", 0),
                ),
            )
        )
        moment += step
    return periods
