"""Segment rollups of a declared trait (product.md §4, segments; ``pulse segment declare``): kept by the adoption
projection as events arrive — late events, plan changes, late identify calls, duplicates, a deletion — they equal a
set-based recomputation from the per-user rows, and every segmented read answers the same from them as from the
per-user rows (whose answers ``test_adoption_bruteforce`` checks against a brute-force recomputation)."""

import json
import os
import random
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest

from pulse_common.events import UserDeleted
from pulse_common.projects import ProjectError
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.rollup_writes import ROLLUP_TABLES
from pulse_metrics.projections.segment_backfill import compute_segment_rollups, declare_trait, undeclare_trait
from tests.helpers import create_topic, produce_events
from tests.integration.harness import metrics_api, running, wait_applied
from tests.integration.ingest_app import new_project
from tests.integration.test_adoption_bruteforce import random_history, with_plans

COUNTS = ("users", "events", "active", "last")


async def segment_rows(pool: asyncpg.Pool, project: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each segment rollup table's rows of the project with a non-zero count, sorted."""
    rows = {}
    for table in sorted({f"metrics.segment_{name}" for name, *_ in ROLLUP_TABLES}):
        records = await pool.fetch(f"SELECT * FROM {table} WHERE project = $1", project)
        rows[table] = sorted(tuple(r.values()) for r in records if any(r.get(c) for c in COUNTS))
    return rows


def reads(features: list[str]) -> list[tuple[str, dict[str, Any]]]:
    paths: list[tuple[str, dict[str, Any]]] = [("/active-users", {}), ("/features", {})]
    for interval in ("day", "week", "month"):
        paths += [("/lifecycle", {"interval": interval})]
        paths += [("/retention", {"interval": interval, "periods": 3, "mode": m}) for m in ("on", "on_or_after")]
        paths += [(f"/features/{f}", {"interval": interval}) for f in features]
    return paths


async def answers(settings: CommonSettings, project: Any, segments: list[str]) -> dict[tuple[str, str, str], Any]:
    headers = {"Authorization": f"Bearer {project.read_key}"}
    window = {"from": "2026-09-25", "to": "2026-11-20"}
    found = {}
    async with metrics_api(settings) as api:
        for segment in segments:
            for path, params in reads(["export", "Opened"]):
                response = await api.get(
                    f"/v1/projects/{project.project}{path}",
                    params={**window, **params, "segment": segment},
                    headers=headers,
                )
                assert response.status_code == 200, (path, response.text)
                body = response.json()
                body.pop("as_of")
                found[(segment, path, str(sorted(params.items())))] = body
    return found


async def test_declared_segment_rollups_equal_a_recomputation_and_read_as_the_rows(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool, "America/New_York")
    history = with_plans(random_history(project.project, seed=51, count=2500))
    history = [
        msgspec.structs.replace(e, properties={"feature": "export"}) if i % 5 == 0 and e.type != "identify" else e
        for i, e in enumerate(history)
    ]
    random.Random(8).shuffle(history)  # late events and late identify calls: earlier days change segment
    half = len(history) // 2
    erased = "user-1"
    deletion = UserDeleted(
        event_id=uuid.uuid4(), project=project.project, received_at=datetime.now(UTC), distinct_id=erased
    )
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    async with running(settings, pool, topic, group="segments", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, history[:half])
        await wait_applied(pool, AdoptionProjection.name, topic, half)
        # Declared part way: the history so far is computed at once, the rest kept as it arrives.
        async with pool.acquire() as conn, pool.acquire() as helper:  # half of it computed on the helper
            assert await declare_trait(conn, project.project, "plan", helper)
            assert not await declare_trait(conn, project.project, "plan")  # already declared: nothing recomputed
        await produce_events(settings.kafka_bootstrap, topic, [*history[half:], deletion])  # type: ignore[list-item]
        await wait_applied(pool, AdoptionProjection.name, topic, len(history) + 1)

    kept = await segment_rows(pool, project.project)
    assert all(kept.values()), {table: len(rows) for table, rows in kept.items()}
    links = kept["metrics.segment_activity_links"]
    assert {row[2] for row in links} == {"free", "pro"}
    # Users who changed plan: first days under a value that were not their first ever (neither new nor lost).
    assert any(row[4] == datetime(1, 1, 2).date() for row in links)
    assert not any(row[2] == "plan" for row in links)
    erased_days = await pool.fetchval(
        "SELECT count(*) FROM metrics.user_days WHERE project = $1 AND distinct_id = $2", project.project, erased
    )
    assert erased_days == 0

    async with pool.acquire() as conn, conn.transaction():  # all of it on one connection
        await compute_segment_rollups(conn, project.project, "plan", "America/New_York")
    assert await segment_rows(pool, project.project) == kept

    from_rollups = await answers(settings, project, ["plan:pro", "plan:free"])
    async with pool.acquire() as conn:
        assert await undeclare_trait(conn, project.project, "plan")
    assert not any((await segment_rows(pool, project.project)).values())
    from_rows = await answers(settings, project, ["plan:pro", "plan:free"])
    assert from_rollups.keys() == from_rows.keys()
    for key, expected in from_rows.items():
        assert from_rollups[key] == expected, key
    # Not vacuous: the segments hold users, and the two plans differ.
    active = [row["mau"] for row in from_rows[("plan:pro", "/active-users", "[]")]["series"]]
    assert max(active) > 0
    assert from_rows[("plan:pro", "/features", "[]")] != from_rows[("plan:free", "/features", "[]")]


async def test_declaring_needs_a_project_and_a_trait(pool: asyncpg.Pool) -> None:
    project = await new_project(pool, "UTC")
    async with pool.acquire() as conn:
        with pytest.raises(ProjectError, match="does not exist"):
            await declare_trait(conn, "no-such-project", "plan")
        with pytest.raises(ProjectError, match="trait must not be empty"):
            await declare_trait(conn, project.project, "  ")
        for n in range(10):
            assert await declare_trait(conn, project.project, f"trait-{n}")
        with pytest.raises(ProjectError, match="at most 10 traits"):
            await declare_trait(conn, project.project, "one-too-many")
        assert not await undeclare_trait(conn, project.project, "never-declared")


def pulse_segment(settings: CommonSettings, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PULSE_DATABASE_URL": settings.dsn, "PULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    command = [sys.executable, "-m", "pulse_common.cli", "segment", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


async def test_the_segment_command_declares_lists_and_drops(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = (await new_project(pool, "UTC")).project
    declared = pulse_segment(settings, "declare", project, "plan")
    assert declared.returncode == 0, declared.stderr
    assert json.loads(declared.stdout) | {"seconds": 0} == {
        "project": project,
        "trait": "plan",
        "declared": True,
        "already_declared": False,
        "seconds": 0,
    }
    assert json.loads(pulse_segment(settings, "declare", project, "plan").stdout)["already_declared"] is True
    assert json.loads(pulse_segment(settings, "list", project).stdout) == {"project": project, "traits": ["plan"]}
    assert json.loads(pulse_segment(settings, "drop", project, "plan").stdout)["dropped"] is True
    assert json.loads(pulse_segment(settings, "list", project).stdout)["traits"] == []
    missing = pulse_segment(settings, "declare", "no-such-project", "plan")
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
