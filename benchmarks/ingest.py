"""Ingest benchmark: accepted events/s for 100-event batches, broker acknowledgements included, for Pulse's ingest
(one worker) and for a naive FastAPI ``list[Model]`` + one-``send()``-per-event endpoint, in the same run, against
the embedded broker on this machine. Prints a table and writes ``benchmarks/results/ingest.json``.

Also measured in the same rounds, as a ceiling rather than a result: the same ingest server with a publisher that
acknowledges at once and sends nothing (``benchmarks.unpublished_ingest``), the most one worker's request path can
accept on this machine before the broker costs anything.

Bounded by count: ``--rounds`` rounds (default 3) of ``--requests`` batches (default 800 = 80,000 events) per
target, alternating between the targets.
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from benchmarks.loadgen import LoadResult, post, run_load
from benchmarks.scratch import scratch_dsn
from pulse_common import broker as embedded_broker
from pulse_common.db import drop_database, ensure_database
from pulse_common.kafka import ensure_topics
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import create_project

EVENTS_PER_BATCH = 100
PULSE = "pulse ingest (msgspec + grouped send_batch)"
NAIVE = "naive (list[Model] + send per event)"
CEILING = "ceiling: pulse ingest, publishing skipped"


def batches(write_key: str, count: int) -> list[bytes]:
    now = datetime.now(UTC).isoformat()
    bodies = []
    for b in range(count):
        events = [
            {
                "type": "track",
                "messageId": f"{b}-{i}-{uuid.uuid4().hex[:8]}",
                "userId": f"user-{(b * 37 + i) % 5000}",
                "event": f"Feature {i % 50} Used",
                "timestamp": now,
                "properties": {"feature": f"feature-{i % 50}", "plan": "pro", "count": i},
                "context": {"library": {"name": "analytics-python", "version": "2.3.0"}},
            }
            for i in range(EVENTS_PER_BATCH)
        ]
        bodies.append(json.dumps({"writeKey": write_key, "batch": events, "sentAt": now}).encode())
    return bodies


def wait_http(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on :{port} exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on :{port}")


async def prepare_database(dsn: str) -> str:
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, all_migrations())
        created = await create_project(conn, f"bench-{uuid.uuid4().hex[:8]}")
    finally:
        await conn.close()
    return created.write_key


def measure(port: int, bodies: list[bytes], connections: int) -> LoadResult:
    requests = [post("/v1/batch", body) for body in bodies]
    warmup = requests[: max(10, len(requests) // 20)]
    asyncio.run(run_load(port, warmup, connections=connections))
    return asyncio.run(run_load(port, requests[len(warmup) :], connections=connections))


def accepted_per_second(result: LoadResult) -> float:
    if set(result.statuses) != {200}:
        raise RuntimeError(f"non-200 answers: {result.statuses}; e.g. {result.bodies[-1][:300]!r}")
    return result.requests * EVENTS_PER_BATCH / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dsn = scratch_dsn("pulse_bench")
    broker_port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(broker_port)
    bootstrap = f"127.0.0.1:{broker_port}"
    processes: list[subprocess.Popen[bytes]] = [broker]
    try:
        asyncio.run(ensure_topics(bootstrap))
        write_key = asyncio.run(prepare_database(dsn))
        env = {
            **os.environ,
            "PULSE_DATABASE_URL": dsn,
            "PULSE_KAFKA_BOOTSTRAP": bootstrap,
            "PULSE_KAFKA_IDEMPOTENCE": "false",
            "PULSE_RATE_LIMIT_EVENTS_PER_S": "1e9",
            "PULSE_RATE_LIMIT_BURST": "1e9",
            "PULSE_LOG_LEVEL": "WARNING",
        }
        pulse_port, naive_port, ceiling_port = (embedded_broker.free_port() for _ in range(3))
        pulse = subprocess.Popen([sys.executable, "-m", "pulse_ingest"], env={**env, "PULSE_PORT": str(pulse_port)})
        naive = subprocess.Popen([sys.executable, "-m", "benchmarks.naive_ingest", str(naive_port), bootstrap], env=env)
        ceiling = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.unpublished_ingest"], env={**env, "PULSE_PORT": str(ceiling_port)}
        )
        processes += [pulse, naive, ceiling]
        wait_http(pulse_port, "/healthz", pulse)
        wait_http(naive_port, "/docs", naive)
        wait_http(ceiling_port, "/healthz", ceiling)
        # Rounds alternate between the servers so that noise on this shared machine hits them alike.
        rounds: dict[str, list[float]] = {PULSE: [], NAIVE: [], CEILING: []}
        for round_number in range(args.rounds):
            for name, port in ((PULSE, pulse_port), (NAIVE, naive_port), (CEILING, ceiling_port)):
                bodies = batches(write_key, args.requests)  # fresh messageIds: no duplicates across rounds
                rounds[name].append(accepted_per_second(measure(port, bodies, args.connections)))
            print(f"round {round_number + 1}: " + ", ".join(f"{n}: {r[-1]:,.0f}" for n, r in rounds.items()))
        results = {name: statistics.median(rates) for name, rates in rounds.items()}
        ceiling_rate = results.pop(CEILING)  # beside the results, not one of them
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=15)
        asyncio.run(drop_database(dsn))
    naive_rate = results[NAIVE]
    print(
        f"ingest: {EVENTS_PER_BATCH}-event batches, one worker each, acks=all; median of {args.rounds} alternating "
        f"rounds of {args.requests} batches over {args.connections} connections; the broker and the load generator "
        f"share the same {os.cpu_count()}-core machine"
    )
    print(f"{'endpoint':40} {'events/s':>12} {'vs naive':>10}")
    for name, rate in {**results, CEILING: ceiling_rate}.items():
        print(f"{name:40} {rate:12,.0f} {rate / naive_rate:9.1f}x")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "events_per_batch": EVENTS_PER_BATCH,
                "batches": args.requests,
                "connections": args.connections,
                "events_per_second": results,
                # Not a result: the same server answering without publishing (benchmarks.unpublished_ingest).
                "ceiling_without_publishing_per_second": ceiling_rate,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
