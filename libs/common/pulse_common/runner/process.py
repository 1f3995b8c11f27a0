"""Running one projection as a process: clients from settings, SIGTERM finishes the batch, failures exit non-zero."""

import asyncio
import logging
import signal
from collections.abc import Callable

import asyncpg

from pulse_common.db import create_pool
from pulse_common.kafka import build_consumer, build_producer, ensure_topics
from pulse_common.runner.projection import E, Projection
from pulse_common.runner.runner import ProjectionRunner
from pulse_common.settings import CommonSettings

log = logging.getLogger(__name__)


async def run_projection(
    settings: CommonSettings,
    make_projection: Callable[[asyncpg.Pool], Projection[E]],
    *,
    max_records: int = 5000,
) -> None:
    """Run until SIGTERM/SIGINT; raise on any database or broker failure (the caller exits non-zero)."""
    if settings.kafka_create_topics:
        await ensure_topics(settings.kafka_bootstrap)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pool = await create_pool(settings.dsn, min_size=1, max_size=2)
    try:
        projection = make_projection(pool)
        producer = build_producer(settings, client_id=f"{projection.name}-deadletters")
        consumer = build_consumer(settings, group_id=projection.name, client_id=projection.name)
        await producer.start()
        try:
            await consumer.start()
            try:
                log.info("%s: consuming %s", projection.name, ", ".join(projection.topics))
                await ProjectionRunner(
                    projection,
                    pool=pool,
                    consumer=consumer,
                    producer=producer,
                    max_records=max_records,
                    broker_unreachable_s=settings.kafka_unreachable_exit_s,
                ).run(stop)
                log.info("%s: stopped after finishing its batch", projection.name)
            finally:
                await consumer.stop()
        finally:
            await producer.stop()
    finally:
        await pool.close()
