"""The grafana schema's formulas and release stages equal the services' own (pure) definitions on random inputs."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from pulse_common.grafana import access
from pulse_common.projects import ProjectError
from pulse_common.settings import CommonSettings
from pulse_feedback.scores import nps, wilson
from pulse_metrics.queries.release_math import stages
from pulse_metrics.release_watch import ReleaseWatch, newest_adopted
from tests.integration.ingest_app import new_project


async def test_score_formulas_equal_the_feedback_services(pool: asyncpg.Pool) -> None:
    rng = random.Random(3)
    # (n, promoters, detractors); the last is product.md's example: NPS 30 +- 7.7.
    cases = [(0, 0, 0), (1, 1, 0), (1, 0, 1), (3, 1, 1), (400, 200, 80)]
    for _ in range(200):
        n = rng.randrange(0, 400)
        promoters = rng.randrange(0, n + 1)
        detractors = rng.randrange(0, n - promoters + 1)
        cases.append((n, promoters, detractors))
    for n, promoters, detractors in cases:
        row = await pool.fetchrow(
            "SELECT grafana.nps($1, $2, $3) AS score, grafana.nps_margin($1, $2, $3) AS margin, "
            "grafana.wilson_low($1, $3) AS low, grafana.wilson_high($1, $3) AS high",
            promoters,
            detractors,
            n,
        )
        expected = nps({10: promoters, 0: detractors, 8: n - promoters - detractors})
        interval = wilson(promoters, n)
        if n == 0:
            assert tuple(row.values()) == (None, None, None, None)
            continue
        assert row["score"] == pytest.approx(expected.score, abs=1e-9)
        assert row["margin"] == pytest.approx(expected.margin, abs=1e-9)
        assert interval is not None
        assert (row["low"], row["high"]) == (
            pytest.approx(interval.low, abs=1e-12),
            pytest.approx(interval.high, abs=1e-12),
        )


@pytest.mark.parametrize("seed", range(12))
async def test_release_stages_and_adoption_equal_the_metrics_services(pool: asyncpg.Pool, seed: int) -> None:
    rng = random.Random(seed)
    project = await new_project(pool, timezone=rng.choice(("UTC", "America/New_York", "Asia/Tokyo")))
    role = f"grafana_{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await access.grant(conn, role, [project.project], create=True)
    try:
        await check_stages(pool, rng, project.project, project.timezone, seed)
    finally:  # roles belong to the cluster, not to the test database
        await pool.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


async def check_stages(pool: asyncpg.Pool, rng: random.Random, project_name: str, timezone: str, seed: int) -> None:
    zone = ZoneInfo(timezone)
    end = datetime.now(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None) + timedelta(hours=1)
    hours = 72
    hourly: dict[str, dict[str, dict[datetime, int]]] = {}
    for environment in ("production", "staging"):
        releases = [f"{environment[0]}{i}" for i in range(rng.randrange(1, 5))]
        quiet_from = rng.randrange(0, hours)  # a quiet stretch: no sessions at all
        quiet = range(quiet_from, quiet_from + rng.randrange(0, 12))
        for h in range(hours):
            if h in quiet or rng.random() < 0.3:
                continue
            at = end - timedelta(hours=hours - h)
            # Later releases take over as time goes on.
            for i, release in enumerate(releases):
                weight = max(0.0, 1 - abs(i - h * len(releases) / hours)) + rng.random() * 0.2
                sessions = int(weight * rng.randrange(0, 30))
                if sessions:
                    hourly.setdefault(environment, {}).setdefault(release, {})[at] = sessions
    rows = [
        (project_name, release, environment, at, n)
        for environment, releases in hourly.items()
        for release, counts in releases.items()
        for at, n in counts.items()
    ]
    await pool.executemany(
        "INSERT INTO metrics.release_hours (project, release, environment, hour, sessions) VALUES ($1, $2, $3, $4, $5)",
        rows,
    )
    got = {
        (r["environment"], r["release"]): r
        for r in await pool.fetch("SELECT * FROM grafana.release_adoption WHERE project = $1", project_name)
    }
    expected_keys = set()
    for environment, releases in hourly.items():
        staged = stages(releases, end)
        recent = {r: sum(n for at, n in c.items() if at >= end - timedelta(hours=24)) for r, c in releases.items()}
        total = sum(recent.values())
        for release in releases:
            expected_keys.add((environment, release))
            row = got[(environment, release)]
            assert row["stage"] == staged[release], (seed, environment, release)
            share = recent[release] / total if total else None
            assert (row["adoption_sessions"] is None) == (share is None)
            if share is not None:
                assert row["adoption_sessions"] == pytest.approx(share)
    assert set(got) == expected_keys


async def test_a_role_sees_the_projects_granted_to_it_until_revoked(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    mine, theirs = await new_project(pool), await new_project(pool)
    role = f"grafana_{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        with pytest.raises(ProjectError, match="does not exist"):
            await access.grant(conn, role, [mine.project])  # no such role, and no --create
        with pytest.raises(ProjectError, match="nope"):
            await access.grant(conn, role, ["nope"], create=True)
        await access.grant(conn, role, [mine.project], create=True)
    grafana = await asyncpg.connect(settings.dsn.replace("postgres@", f"{role}@", 1))
    try:
        assert [r["project"] for r in await grafana.fetch("SELECT project FROM grafana.projects")] == [mine.project]
        async with pool.acquire() as conn:
            assert await access.revoke(conn, role, [mine.project, theirs.project]) == 1
        assert await grafana.fetch("SELECT project FROM grafana.projects") == []
    finally:
        await grafana.close()
        await pool.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


async def test_the_crash_free_gauge_watches_each_environments_newest_adopted_release(pool: asyncpg.Pool) -> None:
    project = await new_project(pool, timezone="Europe/Berlin")
    end = datetime.now(ZoneInfo("Europe/Berlin")).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    rows = []
    for hours_ago in range(1, 30):
        at = end - timedelta(hours=hours_ago)
        # production: 1.0 throughout, 2.0 from 10 hours ago on (adopted, newest): 4 of 200 of its sessions crash.
        rows.append((project.project, "1.0", "production", at, 10, 0))
        if hours_ago <= 10:
            rows.append((project.project, "2.0", "production", at, 20, 1 if hours_ago <= 4 else 0))
        # staging: one release, 50 sessions in 24 hours: too few to count.
        if hours_ago <= 5:
            rows.append((project.project, "2.1", "staging", at, 10, 5))
    await pool.executemany(
        "INSERT INTO metrics.release_hours (project, release, environment, hour, sessions, crashed) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    found = await newest_adopted(pool, project.project, datetime.now(ZoneInfo("Europe/Berlin")))
    assert [(r.environment, r.release, r.sessions, r.crashed) for r in found] == [
        ("production", "2.0", 200, 4),
        ("staging", "2.1", 50, 25),
    ]
    registry = CollectorRegistry()
    watch = ReleaseWatch.create(registry)
    await watch.refresh(pool, min_sessions=100)
    # Other tests' projects may have releases too: this one's 98 % is at most the worst, and counted.
    worst = registry.get_sample_value("pulse_release_newest_adopted_crash_free_sessions_worst_ratio")
    assert worst is not None
    assert worst <= 0.98
    watched = registry.get_sample_value("pulse_release_newest_adopted_releases")
    assert watched is not None
    assert watched >= 1
