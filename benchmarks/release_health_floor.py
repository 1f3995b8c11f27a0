"""The Postgres floor of one release-health session update, with no rollups at all: per batch of 5,000 updates (two
per session, as ``benchmarks.release_health`` generates them), the updates' dedup claims, the keyed read of the
batch's stored sessions and the session upsert, the projection's own statements (``release_health.load_sessions``,
``write_sessions``), into tables already holding ``--sessions`` sessions and twice as many claims. Whatever else
release health keeps (user hours, links, release hours) comes on top of this. Runnable alone:
``python -m benchmarks.release_health_floor --sessions 60000,1000000``; not a ``make bench`` step.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from benchmarks.scratch import process_cpu_s, scratch_database
from pulse_common.runner.tracking import claim_events
from pulse_common.session_state import SessionState
from pulse_metrics.projections.release_health import ReleaseHealthProjection, load_sessions, write_sessions

UPDATES_PER_BATCH = 5_000
PROJECT = "bench-floor"


async def fill(conn: asyncpg.Connection, sessions: int) -> None:
    """``sessions`` stored sessions of 200,000 users over 30 days and 20 releases, and their updates' claims."""
    await conn.execute(
        """
        INSERT INTO metrics.sessions
        SELECT $1, 'stored-' || g, 'app@' || (g % 20) || '.0', 'production', 'user-' || (g % 200000),
               now() - interval '1 day' * (g % 30), 'exited', 0, now()
        FROM generate_series(1, $2) AS g
        """,
        PROJECT,
        sessions,
    )
    await conn.execute(
        "INSERT INTO tracking.event_claims (consumer, event_id) "
        "SELECT $1, gen_random_uuid() FROM generate_series(1, $2)",
        ReleaseHealthProjection.name,
        2 * sessions,
    )
    await conn.execute("VACUUM ANALYZE")
    await conn.execute("CHECKPOINT")


async def floor_per_update(conn: asyncpg.Connection, batches: int) -> dict[str, float]:
    backend = await conn.fetchval("SELECT pg_backend_pid()")
    rng = random.Random(1)  # noqa: S311 - a reproducible data set, not a secret
    now = datetime.now(UTC)
    cpu_before, started = process_cpu_s(backend), time.perf_counter()
    for b in range(batches):
        keys = [(PROJECT, f"new-{b}-{i}") for i in range(UPDATES_PER_BATCH // 2)]
        states = {
            key: SessionState(
                release="app@3.0",
                environment="production",
                distinct_id=f"user-{rng.randrange(200_000)}",
                started=now,
                status="exited",
                errors=0,
                updated_at=now,
            )
            for key in keys
        }
        async with conn.transaction():
            ids = [uuid.uuid4() for _ in range(UPDATES_PER_BATCH)]
            await claim_events(conn, ReleaseHealthProjection.name, ids)
            await load_sessions(conn, keys)
            await write_sessions(conn, states)
    seconds, cpu_s = time.perf_counter() - started, process_cpu_s(backend) - cpu_before
    updates = batches * UPDATES_PER_BATCH
    return {"postgres_cpu_us_per_update": cpu_s * 1e6 / updates, "wall_us_per_update": seconds * 1e6 / updates}


async def run(sessions: int, batches: int) -> dict[str, float]:
    async with scratch_database("pulse_bench_floor") as conn:
        await fill(conn, sessions)
        return await floor_per_update(conn, batches)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", default="60000,1000000", help="stored sessions, comma-separated sizes")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    for sessions in (int(size) for size in args.sessions.split(",")):
        figures = asyncio.run(run(sessions, args.batches))
        print(
            f"{sessions:,} stored sessions: {figures['postgres_cpu_us_per_update']:.1f} µs of Postgres CPU per update "
            f"({figures['wall_us_per_update']:.1f} µs wall) for its claim, the stored-session read and the upsert",
            flush=True,
        )


if __name__ == "__main__":
    main()
