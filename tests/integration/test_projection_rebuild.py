"""``pulse projections rebuild``: the log replayed into a fresh copy, swapped in atomically while the live copy
serves and its runner goes on applying; the result equals a projection built from scratch, a user's erasure holds
again, and the rebuild refuses when the log lost events.

Each test has its own database and topics: a rebuild replaces its projection's tables whole."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import msgspec
import pytest

from pulse_common import broker as embedded_broker
from pulse_common.db import create_pool, drop_database
from pulse_common.events import FeedbackResponded, UserDeleted
from pulse_common.rebuild import RebuildRefused, RebuildUnit, rebuild_projection
from pulse_common.rebuild.copying import copy_table
from pulse_common.rebuild.log_check import check_log_is_whole
from pulse_common.runner.projection import Projection
from pulse_feedback.rebuild_units import rebuild_units as feedback_rebuild_units
from pulse_feedback.settings import FeedbackSettings
from pulse_metrics.projections.segment_backfill import declare_trait
from pulse_metrics.rebuild_units import rebuild_units
from pulse_metrics.settings import MetricsSettings
from tests.conftest import create_migrated, fresh_database_url
from tests.e2e.conftest import service_env
from tests.helpers import create_topic, eventually, produce_events, usage_event
from tests.integration.harness import running
from tests.integration.ingest_app import new_project

USERS, EVENTS = 40, 600
# When a day's term counts changed (for the packer): the time of applying, not of anything in the log.
WALL_CLOCK_COLUMNS = {"feedback.term_days_changed": ("changed_at",)}
ADDITIVE_ROLLUPS = {
    f"metrics.{prefix}{t}"
    for t in ("activity_links", "feature_links", "adoption_delays", "cohort_periods")
    for prefix in ("", "segment_")
} | {"metrics.segment_feature_day_events"}  # a user's events move between a trait's values when the trait changes


@pytest.fixture
async def own_database(database_url: str) -> AsyncIterator[str]:
    """A database for this test alone (``database_url`` only to say it needs Postgres)."""
    dsn = fresh_database_url("pulse_test_rebuild")
    await create_migrated(dsn)
    yield dsn
    await drop_database(dsn)


def history(project: str, start: int, count: int, *, erased: str | None = None) -> list[Any]:
    """``count`` events of USERS users over 17 days; none of ``erased`` (ingest refuses an erased user's events)."""
    base = datetime.now(UTC) - timedelta(days=20)
    events = [
        usage_event(
            project,
            f"u{i % USERS}",
            "Exported" if i % 3 else "Searched",
            base + timedelta(hours=i % 400, minutes=i % 7),
            message_id=f"m{i}",
        )
        for i in range(start, start + count)
    ]
    return [e for e in events if e.distinct_id != erased]


def plans(project: str) -> list[Any]:
    """Each user's plan, set twice (the second time, half of them change): the declared trait's segments."""
    base = datetime.now(UTC) - timedelta(days=20)
    return [
        msgspec.structs.replace(
            usage_event(project, f"u{i}", "", base + timedelta(days=days), message_id=f"plan-{i}-{days}"),
            type="identify",
            name=None,
            traits={"plan": "pro" if (i + days // 8) % 2 else "free"},
        )
        for i in range(USERS)
        for days in (2, 9)
    ]


def erasure(project: str, user: str) -> UserDeleted:
    return UserDeleted(event_id=uuid4(), project=project, received_at=datetime.now(UTC), distinct_id=user)


async def table_rows(pool: asyncpg.Pool, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows, sorted; rows of additive rollups whose counts (integer columns outside the key) are all 0
    left out: contributions that cancelled, which a live projection meeting the events in many batches keeps more
    of than a replay does, and which read as absent rows."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with pool.acquire() as conn:
        for table in tables:
            key = set(
                await conn.fetchval(
                    "SELECT array_agg(a.attname::text) FROM pg_index i "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = $1::regclass AND i.indisprimary",
                    table,
                )
                or []
            )
            kept = []
            for record in await conn.fetch(f"SELECT * FROM {table}"):
                counts = [v for k, v in record.items() if k not in key and type(v) is int]
                if table not in ADDITIVE_ROLLUPS or not counts or any(counts):
                    kept.append(tuple(v for k, v in record.items() if k not in WALL_CLOCK_COLUMNS.get(table, ())))
            rows[table] = sorted(kept, key=repr)
    return rows


async def applied_offsets(pool: asyncpg.Pool, consumer: str) -> int:
    value: int = await pool.fetchval(
        "SELECT coalesce(sum(next_offset), 0) FROM tracking.partition_offsets WHERE consumer = $1", consumer
    )
    return value


async def claims(pool: asyncpg.Pool, consumer: str) -> set[Any]:
    rows = await pool.fetch("SELECT event_id FROM tracking.event_claims WHERE consumer = $1", consumer)
    return {r["event_id"] for r in rows}


async def test_a_rebuilt_projection_equals_one_built_from_scratch_and_swaps_in_while_the_live_one_runs(
    own_database: str, kafka_bootstrap: str
) -> None:
    topic = await create_topic(kafka_bootstrap, 4)
    settings = MetricsSettings(
        database_url=own_database,  # type: ignore[arg-type]
        kafka_bootstrap=kafka_bootstrap,
        kafka_idempotence=False,
        usage_topic=topic,
    )
    units = {u.name: u for u in rebuild_units(settings)}
    daily, adoption = units["metrics.daily_events"], units["metrics.adoption"]
    reference_dsn = fresh_database_url("pulse_test_rebuild_ref")
    async with AsyncExitStack() as stack:
        live = await create_pool(own_database, min_size=1, max_size=6)
        stack.push_async_callback(live.close)
        project = await new_project(live)
        async with live.acquire() as conn:
            await declare_trait(conn, project.project, "plan")
        first = [*history(project.project, 0, EVENTS), *plans(project.project), erasure(project.project, "u3")]
        await produce_events(kafka_bootstrap, topic, first)
        runners = []
        for unit in (daily, adoption):
            projection: Projection[Any] = unit.factories[0](live)
            runners.append(
                await stack.enter_async_context(running(settings, live, topic, group=unit.name, projection=projection))
            )
        for unit in (daily, adoption):
            await eventually(lambda unit=unit: applied_offsets(live, unit.name), lambda n: n == len(first))

        # A bug the rebuild is to repair: rows the events never justified.
        await live.execute("UPDATE metrics.daily_event_counts SET count = count + 1000")
        await live.execute("DELETE FROM metrics.user_days WHERE distinct_id IN ('u1', 'u2')")
        corrupted = await table_rows(live, daily.tables + adoption.tables)

        later = history(project.project, EVENTS, 60, erased="u3")
        later_count = len(later)

        async def while_replayed() -> None:
            """Before the swap: the live copy still serves its (corrupted) rows, and its runner applies more events,
            which the swap must bring into the fresh copy too."""
            assert await table_rows(live, daily.tables) == {t: corrupted[t] for t in daily.tables}
            if later:
                await produce_events(kafka_bootstrap, topic, later)
                await eventually(
                    lambda: applied_offsets(live, daily.name), lambda n: n == len(first) + len(later), timeout_s=60
                )
                later.clear()

        report = await rebuild_projection(settings, daily, before_swap=while_replayed)
        assert report.projections == ["metrics.daily_events"]
        # Every event of the log (the erasure too), including those applied live during the replay.
        assert report.events_replayed == len(first) + later_count
        await eventually(lambda: applied_offsets(live, adoption.name), lambda n: n == len(first) + later_count)
        await rebuild_projection(settings, adoption)

        # After the swap the live runners go on: events sent now count once, in the rebuilt copies.
        last = history(project.project, EVENTS + 60, 30, erased="u3")
        await produce_events(kafka_bootstrap, topic, last)
        total = len(first) + later_count + len(last)
        for unit in (daily, adoption):
            await eventually(lambda unit=unit: applied_offsets(live, unit.name), lambda n: n == total)

        # The oracle: the same projections built from scratch in another database from the same log.
        stack.push_async_callback(drop_database, reference_dsn)  # dropped however the test ends
        await create_migrated(reference_dsn)
        reference = await create_pool(reference_dsn, min_size=1, max_size=4)
        stack.push_async_callback(reference.close)
        async with live.acquire() as source, reference.acquire() as target:
            await copy_table(source, target, "control.projects")  # its timezone
            await copy_table(source, target, "metrics.segment_traits")
        reference_settings = settings.model_copy(update={"database_url": reference_dsn})
        for unit in (daily, adoption):
            projection = unit.factories[0](reference)
            await stack.enter_async_context(
                running(reference_settings, reference, topic, group=f"{unit.name}-ref", projection=projection)
            )
        for unit in (daily, adoption):
            await eventually(lambda unit=unit: applied_offsets(reference, unit.name), lambda n: n == total)
        await asyncio.sleep(1)  # a double count in the live copy would show by now
        rebuilt = await table_rows(live, daily.tables + adoption.tables)
        assert rebuilt == await table_rows(reference, daily.tables + adoption.tables)
        assert rebuilt != corrupted
        assert {row[2] for row in rebuilt["metrics.segment_activity_links"]} == {"free", "pro"}  # kept by the replay
        for unit in (daily, adoption):
            assert await claims(live, unit.name) == await claims(reference, unit.name)
        # The erased user is gone again after the replay, and the rest is there.
        users = {r["distinct_id"] for r in await live.fetch("SELECT distinct_id FROM metrics.users")}
        assert users == {f"u{i}" for i in range(USERS)} - {"u3"}
        for live_runner in runners:  # and the live runners ran throughout
            assert not live_runner.task.done()


async def test_the_feedback_projections_are_rebuilt_together_to_what_they_were(
    own_database: str, kafka_bootstrap: str
) -> None:
    """Asked by one of its names, the feedback unit rebuilds all three projections (they share the responses)."""
    feedback_topic, usage_topic, sessions_topic = [await create_topic(kafka_bootstrap, 2) for _ in range(3)]
    settings = FeedbackSettings(
        database_url=own_database,  # type: ignore[arg-type]
        kafka_bootstrap=kafka_bootstrap,
        kafka_idempotence=False,
        feedback_topic=feedback_topic,
        usage_topic=usage_topic,
        sessions_topic=sessions_topic,
    )
    (unit,) = feedback_rebuild_units(settings)
    async with AsyncExitStack() as stack:
        live = await create_pool(own_database, min_size=1, max_size=6)
        stack.push_async_callback(live.close)
        project = await new_project(live)
        at = datetime.now(UTC) - timedelta(days=2)
        responses = [
            FeedbackResponded(
                event_id=uuid4(),
                project=project.project,
                received_at=at,
                message_id=f"f{i}",
                distinct_id=f"u{i % 9}",
                kind="nps",
                score=i % 11,
                comment=("slow export" if i % 2 else "love the search") if i % 3 else None,
                feature="Exported" if i % 4 else None,
                timestamp=at + timedelta(minutes=i),
            )
            for i in range(80)
        ]
        await produce_events(kafka_bootstrap, feedback_topic, responses)
        await produce_events(kafka_bootstrap, usage_topic, history(project.project, 0, 50))
        for factory in unit.factories:
            projection: Projection[Any] = factory(live)
            await stack.enter_async_context(running(settings, live, "", group=projection.name, projection=projection))
        await eventually(lambda: applied_offsets(live, "feedback.satisfaction"), lambda n: n == 80)
        await eventually(lambda: applied_offsets(live, "feedback.usage_context"), lambda n: n == 50)
        built = await table_rows(live, unit.tables)
        assert len(built["feedback.responses"]) == 80

        await live.execute("DELETE FROM feedback.responses WHERE score > 5")  # the damage to repair
        report = await rebuild_projection(settings, unit_named_in(settings, "feedback.satisfaction"))
        assert sorted(report.projections) == ["feedback.crashes", "feedback.satisfaction", "feedback.usage_context"]
        assert await table_rows(live, unit.tables) == built


def unit_named_in(settings: FeedbackSettings, name: str) -> RebuildUnit:
    return next(u for u in feedback_rebuild_units(settings) if u.answers_to(name))


async def test_a_rebuild_is_refused_when_the_log_holds_fewer_events_than_were_applied(
    own_database: str, kafka_bootstrap: str
) -> None:
    """A broker that lost its data (here: a fresh one), so the log is shorter than what the projection counts."""
    port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(port)
    try:
        bootstrap = f"127.0.0.1:{port}"
        topic = await create_topic(bootstrap, 2)
        settings = MetricsSettings(
            database_url=own_database,  # type: ignore[arg-type]
            kafka_bootstrap=bootstrap,
            kafka_idempotence=False,
            usage_topic=topic,
        )
        unit = {u.name: u for u in rebuild_units(settings)}["metrics.daily_events"]
        live = await create_pool(own_database, min_size=1, max_size=2)
        try:
            project = await new_project(live)
            await produce_events(bootstrap, topic, history(project.project, 0, 10))
            await live.execute(
                "INSERT INTO tracking.partition_offsets (consumer, topic, partition, next_offset) "
                "VALUES ($1, $2, 0, 500), ($1, $2, 1, 3)",
                unit.name,
                topic,
            )
            await live.execute(
                "INSERT INTO metrics.daily_event_counts SELECT $1, current_date, 'e', 7", project.project
            )
            with pytest.raises(RebuildRefused, match=r"holds fewer events than the projection applied .*\[0\]"):
                await rebuild_projection(settings, unit)
            # Nothing was touched, and the fresh database is gone.
            assert await live.fetchval("SELECT sum(count) FROM metrics.daily_event_counts") == 7
            fresh = own_database.rsplit("/", 1)[1] + "_rebuild"
            assert not await live.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", fresh)
        finally:
            await live.close()
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def test_the_log_check_names_each_partition_that_lost_events() -> None:
    with pytest.raises(RebuildRefused, match=r"no longer starts at offset 0 \(t\[1\] starts at 40\)"):
        check_log_is_whole("p", {("t", 0): 0, ("t", 1): 40}, {("t", 0): 9, ("t", 1): 90}, {("t", 0): 9})
    with pytest.raises(RebuildRefused, match=r"t\[0\] holds 9, 10 were applied"):
        check_log_is_whole("p", {("t", 0): 0}, {("t", 0): 9}, {("t", 0): 10})
    with pytest.raises(RebuildRefused, match=r"gone\[0\] holds 0, 1 were applied"):
        check_log_is_whole("p", {("t", 0): 0}, {("t", 0): 9}, {("gone", 0): 1})
    check_log_is_whole("p", {("t", 0): 0}, {("t", 0): 9}, {("t", 0): 9})  # whole: no refusal


def test_the_command_names_the_projections_it_knows(own_database: str, kafka_bootstrap: str) -> None:
    unknown = subprocess.run(
        [sys.executable, "-m", "pulse_common.cli", "projections", "rebuild", "metrics.nonesuch"],
        env=service_env(own_database, kafka_bootstrap),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 1
    assert "no projection is named 'metrics.nonesuch'" in unknown.stderr
    assert "metrics.adoption" in unknown.stderr
    assert "feedback.satisfaction" in unknown.stderr


async def test_the_command_rebuilds_a_projection(own_database: str, kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap, 2)
    live = await create_pool(own_database, min_size=1, max_size=2)
    try:
        project = await new_project(live)
        await produce_events(kafka_bootstrap, topic, history(project.project, 0, 25))
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "pulse_common.cli", "projections", "rebuild", "metrics.daily_events"],
            env=service_env(own_database, kafka_bootstrap, PULSE_USAGE_TOPIC=topic),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert '"events_replayed": 25' in done.stdout
        assert await live.fetchval("SELECT sum(count) FROM metrics.daily_event_counts") == 25
    finally:
        await live.close()


def test_every_unit_lists_distinct_tables() -> None:
    units: list[RebuildUnit] = rebuild_units(MetricsSettings())
    tables = [t for u in units for t in u.tables]
    assert len(tables) == len(set(tables))
