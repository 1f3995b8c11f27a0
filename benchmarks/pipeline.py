"""What the consumer benchmarks share: producing generated events to the embedded broker with the batch API, and
timing the real projection runner applying them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg

from benchmarks.ingest import wait_http
from pulse_common import broker as embedded_broker
from pulse_common.db import create_pool
from pulse_common.generate.publish import publish
from pulse_common.kafka import build_consumer, build_producer
from pulse_common.runner import ProjectionRunner
from pulse_common.runner.process import freeze_startup_heap
from pulse_common.settings import CommonSettings


async def produce(
    settings: CommonSettings, topic: str, chunks: Iterable[Sequence[Any]], key_of: Callable[[Any], bytes]
) -> int:
    """Send every event to ``topic``, keyed by ``key_of``, one record batch per partition at a time; the count."""
    sent = await publish(settings, chunks, topic_of=lambda event: (topic, key_of(event)))
    return sum(sent.values())


async def apply_all(
    settings: CommonSettings, projection: Callable[[asyncpg.Pool], Any], count: int, group: str
) -> dict[str, float]:
    """Run one projection runner until ``count`` records are applied; events/s from the first committed batch to
    the last (the first batch's events excluded, as it includes joining the group)."""
    pool = await create_pool(settings.dsn, min_size=1, max_size=4)
    consumer = build_consumer(settings, group_id=group, client_id=group)
    dead_letters = build_producer(settings, client_id=f"{group}-dl")
    await consumer.start()
    await dead_letters.start()
    applied_at: list[float] = []

    async def observe(result: Any) -> None:
        applied_at.append(time.perf_counter())

    runner = ProjectionRunner(
        projection(pool), pool=pool, consumer=consumer, producer=dead_letters, max_records=5000, after_db_commit=observe
    )
    stop = asyncio.Event()
    freeze_startup_heap()  # as the consumer process does once its runners are built
    task = asyncio.create_task(runner.run(stop))
    try:
        while runner.stats.applied + runner.stats.duplicates < count:
            if task.done():
                task.result()
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await task
        await consumer.stop()
        await dead_letters.stop()
        await pool.close()
    first_batch = runner.stats.applied / max(1, runner.stats.batches)
    seconds = applied_at[-1] - applied_at[0] if len(applied_at) > 1 else 0.0
    return {
        "records": count,
        "applied": runner.stats.applied,
        "batches": runner.stats.batches,
        "per_s": (runner.stats.applied - first_batch) / seconds if seconds > 0 else 0.0,
    }


def start_metrics_api(settings: CommonSettings) -> tuple[subprocess.Popen[bytes], int]:
    return start_api(settings, "pulse_metrics")


def start_api(settings: CommonSettings, module: str) -> tuple[subprocess.Popen[bytes], int]:
    """A read API (``pulse_metrics`` or ``pulse_feedback``) in its own process, as deployed; answers once healthy."""
    port = embedded_broker.free_port()
    env = {
        **os.environ,
        "PULSE_DATABASE_URL": settings.dsn,
        "PULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PULSE_PORT": str(port),
        "PULSE_LOG_LEVEL": "WARNING",
    }
    api = subprocess.Popen([sys.executable, "-m", module, "api"], env=env)
    wait_http(port, "/healthz", api)
    return api, port
