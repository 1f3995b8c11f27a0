"""Running projections and the metrics API in-process against the test broker and database."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from pulse_common.kafka import build_consumer, build_producer
from pulse_common.runner import ProjectionRunner
from pulse_common.settings import CommonSettings
from pulse_metrics.app import create_app
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.settings import MetricsSettings
from tests.helpers import eventually


class SimulatedCrash(RuntimeError):
    pass


@dataclass
class Running:
    runner: ProjectionRunner[Any]
    task: asyncio.Task[None]
    consumer: AIOKafkaConsumer


@asynccontextmanager
async def running(
    settings: CommonSettings,
    pool: asyncpg.Pool,
    topic: str,
    *,
    group: str,
    after_db_commit=None,
    projection: Any = None,
) -> AsyncIterator[Running]:
    producer = build_producer(settings, client_id=f"{group}-dl")
    consumer = build_consumer(settings, group_id=group, client_id=group)
    await producer.start()
    await consumer.start()
    runner: ProjectionRunner[Any] = ProjectionRunner(
        projection or DailyEventsProjection(pool, topic=topic),
        pool=pool,
        consumer=consumer,
        producer=producer,
        poll_timeout_ms=100,
        max_records=50,
        after_db_commit=after_db_commit,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield Running(runner, task, consumer)
    finally:
        stop.set()
        with suppress(SimulatedCrash):
            await asyncio.wait_for(task, 30)
        await consumer.stop()
        await producer.stop()


@asynccontextmanager
async def metrics_api(settings: CommonSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(MetricsSettings(database_url=settings.database_url, kafka_bootstrap=settings.kafka_bootstrap))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as client,
    ):
        yield client


async def wait_applied(pool: asyncpg.Pool, projection: str, topic: str, count: int) -> None:
    """Until ``projection`` has stored offsets covering ``count`` records of ``topic``."""
    await eventually(
        lambda: pool.fetchval(
            "SELECT coalesce(sum(next_offset), 0) FROM tracking.partition_offsets WHERE consumer = $1 AND topic = $2",
            projection,
            topic,
        ),
        lambda applied: applied == count,
    )
