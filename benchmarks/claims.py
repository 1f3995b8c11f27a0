"""The cost of one dedup claim: Postgres CPU per event id claimed with the runner's own statement
(``pulse_common.runner.tracking.claim_events``), 5,000 fresh ids per transaction as the runner claims a batch, into a
claims table already holding ``--rows`` claims (each size in turn). Every projection pays one claim per event, so
this is a floor under every consumer's Postgres time per event. Writes ``benchmarks/results/claims.json``.

The backend's CPU is read from ``/proc`` (Postgres runs on this machine). Bounded by count: ``--batches`` batches
per size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path

import asyncpg

from benchmarks.scratch import process_cpu_s, scratch_database
from pulse_common.runner.tracking import claim_events

CONSUMER = "bench.claims"
IDS_PER_BATCH = 5_000


async def fill_to(conn: asyncpg.Connection, rows: int) -> None:
    """Random claims up to ``rows`` in all, then vacuumed and checkpointed, as a table that has been in use."""
    have = await conn.fetchval("SELECT count(*) FROM tracking.event_claims")
    if rows > have:
        await conn.execute(
            "INSERT INTO tracking.event_claims (consumer, event_id) "
            "SELECT $1, gen_random_uuid() FROM generate_series(1, $2)",
            CONSUMER,
            rows - have,
        )
    await conn.execute("VACUUM ANALYZE tracking.event_claims")
    await conn.execute("CHECKPOINT")


async def claim_cost(conn: asyncpg.Connection, batches: int) -> dict[str, float]:
    backend = await conn.fetchval("SELECT pg_backend_pid()")
    ids = [[uuid.uuid4() for _ in range(IDS_PER_BATCH)] for _ in range(batches)]
    cpu_before, started = process_cpu_s(backend), time.perf_counter()
    for batch in ids:
        async with conn.transaction():
            if await claim_events(conn, CONSUMER, batch):
                raise RuntimeError("fresh random ids were claimed before")
    seconds, cpu_s = time.perf_counter() - started, process_cpu_s(backend) - cpu_before
    claims = batches * IDS_PER_BATCH
    return {"postgres_cpu_us_per_claim": cpu_s * 1e6 / claims, "wall_us_per_claim": seconds * 1e6 / claims}


async def run(sizes: list[int], batches: int) -> list[dict[str, float]]:
    results = []
    async with scratch_database("pulse_bench_claims") as conn:
        for rows in sizes:
            await fill_to(conn, rows)
            results.append({"table_rows": rows, **await claim_cost(conn, batches)})
            print(
                f"claims table of {rows:,} rows: {results[-1]['postgres_cpu_us_per_claim']:.1f} µs of Postgres CPU "
                f"per claim ({results[-1]['wall_us_per_claim']:.1f} µs wall)",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="0,1000000,10000000", help="claims already in the table, comma-separated")
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.rows.split(","))
    results = asyncio.run(run(sizes, args.batches))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "claims.json").write_text(
        json.dumps({"ids_per_batch": IDS_PER_BATCH, "batches": args.batches, "sizes": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
