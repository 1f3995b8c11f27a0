"""The rebuild, start to end: check the log is whole, replay it into a fresh database, then swap the result into
the live one in a single transaction. Until that commit the live copy serves reads and its runners keep applying;
the fresh database is dropped at the end, whatever happened."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from pulse_common.db import Connection, create_pool, database_name, drop_database, ensure_database
from pulse_common.kafka import build_reader
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.rebuild import swap
from pulse_common.rebuild.copying import copy_table, quoted
from pulse_common.rebuild.log_check import check_log_is_whole
from pulse_common.rebuild.replay import replay_until
from pulse_common.rebuild.unit import RebuildFailed, RebuildRefused, RebuildUnit
from pulse_common.runner.projection import Projection
from pulse_common.settings import CommonSettings

log = logging.getLogger(__name__)

# One rebuild at a time per database (they would share the fresh database's name).
_REBUILD_LOCK = 7_245_118_001
BeforeSwap = Callable[[], Awaitable[None]]


@dataclass
class RebuildReport:
    unit: str
    projections: list[str]
    events_replayed: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    claims: int = 0
    offsets: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


async def rebuild_projection(
    settings: CommonSettings, unit: RebuildUnit, *, before_swap: BeforeSwap | None = None, max_records: int = 5000
) -> RebuildReport:
    """Rebuild ``unit``; raise RebuildRefused (nothing done) when the log cannot give a faithful copy."""
    live_pool = await create_pool(settings.dsn, min_size=1, max_size=3)
    try:
        async with live_pool.acquire() as guard:
            if not await guard.fetchval("SELECT pg_try_advisory_lock($1)", _REBUILD_LOCK):
                raise RebuildRefused("another `pulse projections rebuild` is running on this database")
            try:
                return await _rebuild(settings, unit, live_pool, before_swap, max_records)
            finally:
                await guard.execute("SELECT pg_advisory_unlock($1)", _REBUILD_LOCK)
    finally:
        await live_pool.close()


async def _rebuild(
    settings: CommonSettings,
    unit: RebuildUnit,
    live_pool: asyncpg.Pool,
    before_swap: BeforeSwap | None,
    max_records: int,
) -> RebuildReport:
    names = [factory(live_pool).name for factory in unit.factories]
    report = RebuildReport(unit.name, names)
    reader = build_reader(settings, client_id="pulse-rebuild")
    await reader.start()
    fresh_dsn = _sibling(settings.dsn, f"{database_name(settings.dsn)}_rebuild")
    try:
        async with live_pool.acquire() as live:
            applied = await swap.stored_offsets(live, names)
        ends = await _check_logs(reader, unit, live_pool, applied)
        await drop_database(fresh_dsn)  # a leftover of a rebuild that was killed
        await ensure_database(fresh_dsn)
        migrating = await asyncpg.connect(fresh_dsn)
        try:
            await apply_migrations(migrating, all_migrations())
        finally:
            await migrating.close()
        fresh_pool = await create_pool(fresh_dsn, min_size=1, max_size=3)
        try:
            started = time.monotonic()
            async with fresh_pool.acquire() as fresh, live_pool.acquire() as live:
                await _copy_inputs(live, fresh, unit)
            projections = [factory(fresh_pool) for factory in unit.factories]
            for projection in projections:
                report.events_replayed += await replay_until(
                    fresh_pool, projection, reader, ends[projection.name], max_records=max_records
                )
            async with fresh_pool.acquire() as fresh:
                await _refuse_undeclared_writes(fresh, unit)
            report.seconds["replay"] = round(time.monotonic() - started, 3)
            if before_swap is not None:
                await before_swap()
            started = time.monotonic()
            await _swap(live_pool, fresh_pool, reader, unit, projections, ends, report, max_records)
            report.seconds["swap"] = round(time.monotonic() - started, 3)
        finally:
            await fresh_pool.close()
    finally:
        await reader.stop()
        await drop_database(fresh_dsn)
    return report


async def _check_logs(
    reader: AIOKafkaConsumer,
    unit: RebuildUnit,
    live_pool: asyncpg.Pool,
    applied: dict[str, dict[tuple[str, int], int]],
) -> dict[str, dict[TopicPartition, int]]:
    """Each projection's partitions and their end offsets, once every log is known to be whole."""
    await reader.topics()  # the cluster's metadata, read before any assignment narrows it to assigned topics
    partitions: dict[str, list[TopicPartition]] = {}
    for factory in unit.factories:
        projection = factory(live_pool)
        partitions[projection.name] = []
        for topic in projection.topics:
            numbers = reader.partitions_for_topic(topic)
            if not numbers:
                raise RebuildRefused(f"{projection.name}: the topic {topic} does not exist on the broker")
            partitions[projection.name] += [TopicPartition(topic, p) for p in sorted(numbers)]
    every = sorted({tp for tps in partitions.values() for tp in tps})
    beginning = await reader.beginning_offsets(every)
    end = await _log_ends(reader, every)
    for name, tps in partitions.items():
        check_log_is_whole(
            name,
            {(tp.topic, tp.partition): beginning[tp] for tp in tps},
            {(tp.topic, tp.partition): end[tp] for tp in tps},
            applied[name],
        )
    return {name: {tp: end[tp] for tp in tps} for name, tps in partitions.items()}


async def _log_ends(
    reader: AIOKafkaConsumer, partitions: list[TopicPartition], timeout_s: float = 30
) -> dict[TopicPartition, int]:
    """Each partition's end offset, as the high-water mark of a fetch reports it. The offset ListOffsets gives is
    only where to fetch from: the development broker (Tansu) answers it with its last batch's first offset + 1."""
    listed = await reader.end_offsets(partitions)
    reader.assign(partitions)
    for tp in partitions:
        reader.seek(tp, listed[tp])
    deadline = time.monotonic() + timeout_s
    while any(reader.highwater(tp) is None for tp in partitions):
        if time.monotonic() > deadline:
            raise RebuildFailed(f"the broker reported no high-water mark in {timeout_s:.0f} s")
        await reader.getmany(timeout_ms=200)
    return {tp: max(listed[tp], reader.highwater(tp) or 0) for tp in partitions}


async def _copy_inputs(live: Connection, fresh: Connection, unit: RebuildUnit) -> None:
    """What the projections read but do not write: projects first (the others refer to them), the rest of the
    control schema, then the unit's own inputs."""
    control = await live.fetch(
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
        "WHERE table_schema = 'control' AND table_type = 'BASE TABLE' ORDER BY table_name <> 'projects', table_name"
    )
    for table in [r["name"] for r in control] + list(unit.inputs):
        await copy_table(live, fresh, table)


async def _refuse_undeclared_writes(fresh: Connection, unit: RebuildUnit) -> None:
    """A projection that writes a table its unit does not list would lose those rows in the swap: refuse."""
    schemas = sorted({t.split(".", 1)[0] for t in unit.tables})
    rows = await fresh.fetch(
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
        "WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'",
        schemas,
    )
    declared = set(unit.tables) | set(unit.inputs)
    for name in sorted(r["name"] for r in rows if r["name"] not in declared):
        if await fresh.fetchval(f"SELECT EXISTS (SELECT 1 FROM {quoted(name)})"):
            raise RebuildRefused(
                f"{unit.name}: the replay wrote rows to {name}, which the unit does not list as its own; "
                "the live table would keep stale rows: add it to the unit's tables"
            )


async def _swap(
    live_pool: asyncpg.Pool,
    fresh_pool: asyncpg.Pool,
    reader: AIOKafkaConsumer,
    unit: RebuildUnit,
    projections: list[Projection[Any]],
    ends: dict[str, dict[TopicPartition, int]],
    report: RebuildReport,
    max_records: int,
) -> None:
    names = [p.name for p in projections]
    async with live_pool.acquire() as live, live.transaction(), fresh_pool.acquire() as fresh:
        locked = await swap.stored_offsets(live, names, lock=True)
        # The live runners went on applying during the replay: the fresh copy catches up to where they stopped.
        for projection in projections:
            targets = {
                tp: max(end, locked[projection.name].get((tp.topic, tp.partition), 0))
                for tp, end in ends[projection.name].items()
            }
            report.events_replayed += await replay_until(
                fresh_pool, projection, reader, targets, max_records=max_records
            )
        report.rows = await swap.stage_tables(live, fresh, unit.tables)
        report.claims = await swap.replace_claims(live, fresh, names)
        await swap.replace_tables(live, unit.tables)
        final = await swap.stored_offsets(fresh, names)
        await swap.store_offsets(live, final)
        report.offsets = {c: {f"{t}[{p}]": o for (t, p), o in sorted(per.items())} for c, per in final.items()}


def _sibling(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))
