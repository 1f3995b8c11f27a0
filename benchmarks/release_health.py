"""Release-health benchmark (issue 5): session updates applied per second by one consumer, and p50 / p95 / p99 of
every release endpoint, on a generated set (default 1,000,000 sessions over 30 days and 20 releases, 200,000 users,
two updates per session: ``init`` then the final state).

Every update goes through the embedded broker and the real projection runner. Prints a table and writes
``benchmarks/results/release_health.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from benchmarks.adoption import measure_reads, new_read_key, vacuum
from benchmarks.pipeline import apply_all, produce, start_metrics_api
from benchmarks.scratch import scratch_dsn
from pulse_common import broker as embedded_broker
from pulse_common import topics
from pulse_common.db import drop_database, ensure_database
from pulse_common.events import SessionUpdated
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import create_project
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.release_health import ReleaseHealthProjection

ZONE = "Europe/Berlin"


def session_updates(
    project: str, sessions: int, users: int, days: int, releases: int, end: datetime, seed: int = 1
) -> Iterator[list[SessionUpdated]]:
    """Sessions spread over the window, each release taking over from the previous one; one bad release crashes
    ten times as often. Chunks of updates, each session's init before its end."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    bad = releases // 2
    chunk: list[SessionUpdated] = []
    for s in range(sessions):
        at = start + timedelta(seconds=rng.random() * span)
        progress = (at - start).total_seconds() / span * releases
        release = min(releases - 1, max(0, int(progress - rng.random() * 1.5)))
        user = f"user-{int(users * rng.random() ** 2)}"  # skewed: a few users have many sessions
        crash_rate = 0.05 if release == bad else 0.005
        final = rng.choices(["exited", "crashed", "abnormal"], weights=[1 - crash_rate - 0.002, crash_rate, 0.002])[0]
        errors = 1 if rng.random() < 0.03 else 0
        for status, when, init in (("ok", at, True), (final, at + timedelta(minutes=rng.randrange(1, 40)), False)):
            chunk.append(
                SessionUpdated(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=when,
                    session_id=f"s{s}",
                    distinct_id=user,
                    init=init,
                    started=at,
                    timestamp=when,
                    status=status,  # type: ignore[arg-type]
                    errors=errors if not init else 0,
                    release=f"app@{release + 1}.0",
                    environment="production",
                )
            )
        if len(chunk) >= 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", metavar="DSN", help="only the reads, on a database kept by an earlier --keep run")
    args = parser.parse_args()
    dsn = args.reuse or scratch_dsn("pulse_bench_releases")
    broker_port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(broker_port)
    settings = CommonSettings(
        database_url=dsn, kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_idempotence=False, log_level="WARNING"
    )
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    api: subprocess.Popen[bytes] | None = None
    try:
        consumer: dict[str, float] = {}
        if args.reuse:
            project, read_key = "bench", asyncio.run(new_read_key(dsn, "bench"))
        else:
            asyncio.run(ensure_database(dsn))

            async def setup() -> tuple[str, str]:
                conn = await asyncpg.connect(dsn)
                try:
                    await apply_migrations(conn, all_migrations())
                    created = await create_project(conn, "bench", ZONE)
                    return created.project, created.read_key
                finally:
                    await conn.close()

            project, read_key = asyncio.run(setup())
            updates = session_updates(project, args.sessions, args.users, args.days, args.releases, end)
            count = asyncio.run(
                produce(
                    settings,
                    topics.SESSIONS,
                    updates,
                    lambda e: topics.session_key(e.project, e.distinct_id, e.session_id),
                )
            )
            print(f"produced {count:,} session updates; applying ...", flush=True)
            consumer = asyncio.run(apply_all(settings, ReleaseHealthProjection, count, "bench-releases"))
            print(f"consumer: {consumer}", flush=True)
            asyncio.run(vacuum(dsn))  # reads at rest, as autovacuum leaves the tables between bursts of writes
        api, port = start_metrics_api(settings)
        window = {"from": (end - timedelta(days=args.days)).date().isoformat(), "to": end.date().isoformat()}
        base = f"/v1/projects/{project}/releases"
        bad, good = f"app@{args.releases // 2 + 1}.0", f"app@{args.releases // 2}.0"
        reads = [
            ("releases (30 days)", base, window),
            ("health by day", f"{base}/{bad}/health", {**window, "interval": "day"}),
            ("health by hour", f"{base}/{bad}/health", {**window, "interval": "hour"}),
            ("compare", f"{base}/compare", {**window, "base": good, "candidate": bad}),
        ]
        results = measure_reads(port, read_key, reads, args.requests)
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        broker.terminate()
        broker.wait(10)
        if args.keep or args.reuse:
            print(f"kept: {dsn}")
        else:
            asyncio.run(drop_database(dsn))
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "shape": vars(args),
        "consumer": consumer,
        "reads": results,
    }
    print(f"\n{'read':24} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for name, figures in results.items():
        if "failed" in figures:
            print(f"{name:24} failed: {figures['failed'][:80]}")
        else:
            print(f"{name:24} {figures['p50_ms']:9.1f} {figures['p95_ms']:9.1f} {figures['p99_ms']:9.1f}")
    if consumer:
        print(f"\nconsumer: {consumer['per_s']:,.0f} session updates/s applied")
    out = Path(__file__).parent / "results" / "release_health.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
