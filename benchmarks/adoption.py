"""Adoption benchmark (issue 4): read latency of every adoption endpoint on a large history, the consumer's
throughput on top of it, and a naive ``COUNT(DISTINCT)``-over-raw-events baseline, in one run.

1. A deterministic history (``adoption_data``; default 1,000,000 users, 10,000,000 events, 90 days, 50 features)
   is copied into a raw events table (the naive baseline's input) and loaded set-based into the adoption tables
   (``adoption_load``), as the projection would have written them.
2. The consumer: a further ``--consumer-events`` events of the same users go through the embedded broker and the
   real projection runner (claims, rollups, offsets); events/s from the first to the last applied batch.
3. Every rollup is checked against a recomputation from the per-user rows (the loader and the consumer agree).
4. Reads: the metrics API in its own process answers ``--requests`` requests per endpoint over the 90-day window;
   p50 / p95 / p99; the same for a segment of the declared trait (``plan``: its rollups, computed when it is
   declared between two consumer runs, and kept by the second). Reads of a segment of an undeclared trait
   (row-level) are reported apart.
5. The naive baseline: the same figures by ``COUNT(DISTINCT)`` over the raw events.

Prints a table and writes ``benchmarks/results/adoption.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.adoption_data import HistoryShape, usage_history
from benchmarks.adoption_load import RAW_TABLE, load_adoption_tables, rollup_mismatches, segment_mismatches
from benchmarks.adoption_sql import generate_raw_events
from benchmarks.pipeline import apply_all, produce, start_metrics_api
from benchmarks.scratch import scratch_dsn
from pulse_common import broker as embedded_broker
from pulse_common import topics
from pulse_common.db import drop_database, ensure_database
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import create_project, issue_keys
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.segment_backfill import declare_trait

ZONE = "Europe/Berlin"
SEGMENT_TRAIT = "plan"  # declared: its segments are read from rollups
SEGMENT = "plan:pro"
ROW_SEGMENT = "persona:maker"  # of a trait not declared: read from the per-user rows


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99)}


async def prepare(dsn: str, shape: HistoryShape) -> tuple[str, str, dict[str, Any]]:
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, all_migrations())
        created = await create_project(conn, "bench", ZONE)
    finally:
        await conn.close()
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    timings["raw_events"] = await generate_raw_events(dsn, created.project, shape, ZONE)
    timings["generate_s"] = time.perf_counter() - started
    timings.update(await load_adoption_tables(dsn, created.project))
    return created.project, created.read_key, timings


async def declare(dsn: str, project: str, trait: str) -> float:
    """Declare a segment trait (its rollups computed from the per-user rows); seconds taken."""
    conn, helper = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        for session in (conn, helper):
            await session.execute("SET statement_timeout = 0")
        started = time.perf_counter()
        await declare_trait(conn, project, trait, helper)
        return time.perf_counter() - started
    finally:
        await conn.close()
        await helper.close()


async def consume(settings: CommonSettings, project: str, shape: HistoryShape) -> dict[str, float]:
    """Produce the slice, then time the real runner applying it."""
    count = await produce(
        settings,
        topics.USAGE,
        usage_history(project, shape),
        lambda e: topics.usage_key(e.project, e.distinct_id, e.anonymous_id, e.previous_id),
    )
    return await apply_all(settings, AdoptionProjection, count, "bench-adoption")


def read_requests(project: str, last_day: date, top_feature: str) -> list[tuple[str, str, dict[str, Any]]]:
    window = {"from": (last_day - timedelta(days=89)).isoformat(), "to": last_day.isoformat()}
    base = f"/v1/projects/{project}"
    reads: list[tuple[str, str, dict[str, Any]]] = [("active-users", f"{base}/active-users", window)]
    for interval in ("day", "week", "month"):
        reads.append((f"lifecycle {interval}", f"{base}/lifecycle", {**window, "interval": interval}))
        periods = {"day": 30, "week": 12, "month": 3}[interval]
        reads.append(
            (f"retention {interval}", f"{base}/retention", {**window, "interval": interval, "periods": periods})
        )
        reads.append((f"feature {interval}", f"{base}/features/{top_feature}", {**window, "interval": interval}))
    reads.append(("features", f"{base}/features", window))
    reads.append(("user profile", f"{base}/users/user-1", {}))
    return reads


def measure_reads(
    port: int, read_key: str, reads: list[tuple[str, str, dict[str, Any]]], requests: int, warmup: int = 3
) -> dict[str, dict[str, Any]]:
    """Percentiles per read; a read that fails is reported with its answer instead (e.g. a query timeout)."""
    headers = {"Authorization": f"Bearer {read_key}"}
    results: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:
        for name, path, params in reads:
            samples = []
            for attempt in range(requests + warmup):
                started = time.perf_counter()
                try:
                    response = client.get(path, params=params)
                except httpx.HTTPError as exc:
                    results[name] = {"failed": repr(exc), "after_s": time.perf_counter() - started}
                    break
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    results[name] = {"failed": f"{response.status_code} {response.text[:200]}", "after_s": elapsed}
                    break
                if attempt >= warmup:
                    samples.append(elapsed)
            else:
                results[name] = percentiles(samples)
    return results


NAIVE_QUERIES = {
    # The active-users series: per day, distinct users that day, in the 7 and the 30 days to it.
    "active-users": f"""
        SELECT d::date,
          (SELECT count(DISTINCT distinct_id) FROM {RAW_TABLE} r WHERE r.day = d::date AND r.active),
          (SELECT count(DISTINCT distinct_id) FROM {RAW_TABLE} r
            WHERE r.day BETWEEN d::date - 6 AND d::date AND r.active),
          (SELECT count(DISTINCT distinct_id) FROM {RAW_TABLE} r
            WHERE r.day BETWEEN d::date - 29 AND d::date AND r.active)
        FROM generate_series($1::date, $2::date, interval '1 day') AS d
    """,
    "features": f"""
        SELECT feature, count(DISTINCT distinct_id), count(*) FROM {RAW_TABLE}
        WHERE day BETWEEN $1 AND $2 AND feature IS NOT NULL GROUP BY feature
    """,
}


async def measure_naive(
    dsn: str, windows: dict[str, tuple[date, date]], repeats: int
) -> dict[str, dict[str, float | str]]:
    """Each naive query over its window, on the raw table as written (no index: the queries read every row of
    their window, and building one took longer than the query it would serve)."""
    conn = await asyncpg.connect(dsn)
    results: dict[str, dict[str, float | str]] = {}
    try:
        await conn.execute("SET statement_timeout = 0")  # the naive queries take minutes: that is the point
        await conn.execute(f"ANALYZE {RAW_TABLE}")
        for name, sql in NAIVE_QUERIES.items():
            first, last = windows[name]
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                await conn.fetch(sql, first, last)
                samples.append(time.perf_counter() - started)
            results[name] = {
                "median_ms": statistics.median(samples) * 1000,
                "runs": len(samples),
                "window": f"{first}..{last}",
            }
    finally:
        await conn.close()
    return results


async def vacuum(dsn: str, connections: int = 2) -> None:
    """VACUUM ANALYZE what the APIs read: every table outside ``public`` (where a benchmark keeps its raw input),
    largest first, on ``connections`` connections at once."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [
            r["name"]
            for r in await conn.fetch(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables "
                "WHERE schemaname NOT IN ('public', 'pg_catalog', 'information_schema') "
                "ORDER BY pg_total_relation_size(format('%I.%I', schemaname, tablename)) DESC"
            )
        ]
    finally:
        await conn.close()

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET statement_timeout = 0")
            while tables:
                await conn.execute(f"VACUUM (ANALYZE) {tables.pop(0)}")
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


async def limit_statements(dsn: str, seconds: int) -> None:
    """Every later connection to the benchmark database stops a statement after ``seconds`` (the API's own limit
    is 60 s): a read that cannot be fast is reported as over the limit without holding the run up."""
    conn = await asyncpg.connect(dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
        await conn.execute(f"ALTER DATABASE {name} SET statement_timeout = '{int(seconds)}s'")
    finally:
        await conn.close()


async def new_read_key(dsn: str, project: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return (await issue_keys(conn, project)).read_key
    finally:
        await conn.close()


async def check_rollups(dsn: str, project: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET statement_timeout = 0")
        return await rollup_mismatches(conn, project) + await segment_mismatches(conn, project, SEGMENT_TRAIT, ZONE)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--consumer-events", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument(
        "--segment-requests", type=int, default=2, help="reads of a segment of an undeclared trait (row-level: slow)"
    )
    parser.add_argument("--segment-reads", type=int, default=2, help="how many of active-users, lifecycle, ...")
    parser.add_argument(
        "--undeclared-consumer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the consumer before a segment trait is declared (the second run has it declared)",
    )
    parser.add_argument("--naive-repeats", type=int, default=3)
    parser.add_argument(
        "--naive-days", type=int, default=90, help="window of the naive active-users query (90 days took ~400 s)"
    )
    parser.add_argument(
        "--check-rollups",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="recompute every rollup from the per-user rows after the consumer (~2 min on 10M events)",
    )
    parser.add_argument("--statement-timeout", type=int, default=60, help="seconds; the API's own limit is 60")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", metavar="DSN", help="only the reads, on a database kept by an earlier --keep run")
    args = parser.parse_args()
    last_day = datetime.now(UTC).date() - timedelta(days=1)
    shape = HistoryShape(args.users, args.events, args.days, args.features, last_day)
    dsn = args.reuse or scratch_dsn("pulse_bench_adoption")
    broker_port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(broker_port)
    settings = CommonSettings(
        database_url=dsn, kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_idempotence=False, log_level="WARNING"
    )
    api: subprocess.Popen[bytes] | None = None
    consumer: dict[str, float] = {}
    consumer_segments: dict[str, float] = {}
    try:
        if args.reuse:
            project, read_key = "bench", asyncio.run(new_read_key(dsn, "bench"))
            load: dict[str, Any] = {}
        else:
            print(f"generating and loading {args.events:,} events of {args.users:,} users ...", flush=True)
            project, read_key, load = asyncio.run(prepare(dsn, shape))
            print(f"loaded: {load}", flush=True)
            slice_shape = HistoryShape(
                args.users, args.consumer_events, args.days, args.features, last_day, seed=2, label="c"
            )
            # The tables as autovacuum leaves them after a load: visibility map set, hint bits written.
            started = time.perf_counter()
            asyncio.run(vacuum(dsn))
            load["vacuum_after_load_s"] = time.perf_counter() - started
            if args.undeclared_consumer:
                consumer = asyncio.run(consume(settings, project, slice_shape))
                print(f"consumer: {consumer}", flush=True)
            load["declare_segment_trait_s"] = asyncio.run(declare(dsn, project, SEGMENT_TRAIT))
            print(f"declared {SEGMENT_TRAIT!r} in {load['declare_segment_trait_s']:.1f} s", flush=True)
            consumer_segments = asyncio.run(
                consume(settings, project, dataclasses.replace(slice_shape, seed=3, label="d"))
            )
            print(f"consumer with {SEGMENT_TRAIT!r} declared: {consumer_segments}", flush=True)
            if args.check_rollups:
                mismatches = asyncio.run(check_rollups(dsn, project))
                if mismatches:
                    raise RuntimeError(f"rollups differ from the per-user rows: {mismatches}")
                print("rollups equal their recomputation from the per-user rows", flush=True)
            # Reads are measured at rest, as autovacuum leaves the tables between bursts of writes.
            started = time.perf_counter()
            asyncio.run(vacuum(dsn))
            load["vacuum_after_consumer_s"] = time.perf_counter() - started
        asyncio.run(limit_statements(dsn, args.statement_timeout))
        api, port = start_metrics_api(settings)
        naive_first = last_day - timedelta(days=args.naive_days - 1)
        reads = read_requests(project, last_day, "feature-00")
        if args.naive_days != 90:  # Pulse over the naive query's window too, like for like
            reads.append(
                (
                    f"active-users (last {args.naive_days} day{'s' if args.naive_days > 1 else ''})",
                    f"/v1/projects/{project}/active-users",
                    {"from": naive_first.isoformat(), "to": last_day.isoformat()},
                )
            )
        rollup_reads = measure_reads(port, read_key, reads, args.requests)
        segmented = [(f"{name} ({SEGMENT})", path, {**params, "segment": SEGMENT}) for name, path, params in reads]
        segment_reads = measure_reads(
            port, read_key, [r for r in segmented if "user profile" not in r[0]], args.requests
        )
        row_segment_reads = (
            {}
            if not args.segment_requests
            else measure_reads(
                port,
                read_key,
                [
                    (f"{name} ({ROW_SEGMENT}, rows)", path, {**params, "segment": ROW_SEGMENT})
                    for name, path, params in reads[: args.segment_reads]
                ],
                args.segment_requests,
                warmup=0,
            )
        )
        naive = (
            asyncio.run(
                measure_naive(
                    dsn,
                    {
                        "active-users": (naive_first, last_day),
                        "features": (last_day - timedelta(days=89), last_day),
                    },
                    args.naive_repeats,
                )
            )
            if args.naive_repeats
            else {}
        )
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        broker.terminate()
        broker.wait(10)
        if not args.keep and not args.reuse:
            asyncio.run(drop_database(dsn))
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "shape": {"users": args.users, "events": args.events, "days": args.days, "features": args.features},
        "statement_timeout_s": args.statement_timeout,
        "load": load,
        "consumer": consumer,
        "consumer_with_segment_trait": consumer_segments,
        "reads": rollup_reads,
        "segment_reads": segment_reads,
        "row_segment_reads": row_segment_reads,
        "naive": naive,
    }
    print(f"\n{'read (90 days)':34} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for name, figures in {**rollup_reads, **segment_reads, **row_segment_reads}.items():
        if "failed" in figures:
            print(f"{name:34} failed after {figures['after_s']:.1f} s: {figures['failed'][:60]}")
        else:
            print(f"{name:34} {figures['p50_ms']:9.1f} {figures['p95_ms']:9.1f} {figures['p99_ms']:9.1f}")
    for name, figures in naive.items():
        print(
            f"{'naive COUNT(DISTINCT) ' + name:34} {figures['median_ms']:9.1f}"
            f" (median of {figures['runs']}, {figures['window']})"
        )
    if consumer:
        print(f"\nconsumer: {consumer['per_s']:,.0f} events/s applied to the adoption projection")
    if consumer_segments:
        print(f"consumer with {SEGMENT_TRAIT!r} declared: {consumer_segments['per_s']:,.0f} events/s")
    out = Path(__file__).parent / "results" / "adoption.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
