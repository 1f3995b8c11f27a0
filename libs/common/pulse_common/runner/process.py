"""Running a service's projections in one process: one runner (and consumer group) per projection, sharing a pool
and a dead-letter producer. SIGTERM lets every runner finish its batch; any failure stops them all and raises, so
the process exits non-zero and resumes from its stored offsets when restarted."""

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from typing import Any

import asyncpg

from pulse_common.db import create_pool
from pulse_common.http.health import service_registry
from pulse_common.kafka import build_consumer, build_producer, ensure_topics
from pulse_common.runner.endpoint import consumer_app, serve_until
from pulse_common.runner.projection import Projection
from pulse_common.runner.runner import ProjectionRunner
from pulse_common.settings import CommonSettings
from pulse_common.telemetry.catalog import ConsumerMetrics
from pulse_common.telemetry.progress import ConsumerProgressCollector

log = logging.getLogger(__name__)

ProjectionFactory = Callable[[asyncpg.Pool], Projection[Any]]
# Work beside the runners on the same pool (e.g. compaction), until the stop event is set.
BackgroundTask = Callable[[asyncpg.Pool, asyncio.Event], Coroutine[Any, Any, None]]


def freeze_startup_heap() -> None:
    """Leave what startup built (modules, classes, settings, clients) out of every later garbage collection.

    The runners allocate thousands of short-lived objects per batch, so the collector runs often, and each full
    collection walked every object imported at startup: ~10 % of a consumer's time. ``gc.freeze`` (CPython's advice
    for long-running servers) moves them to a generation that is never collected; they live as long as the process.
    """
    gc.collect()
    gc.freeze()


async def run_projections(
    settings: CommonSettings,
    factories: Sequence[ProjectionFactory],
    *,
    max_records: int = 5000,
    background: Sequence[BackgroundTask] = (),
    http: tuple[str, int] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT; raise on any database or broker failure. ``http``: where to serve health and
    Prometheus metrics (consumer.endpoint)."""
    if settings.kafka_create_topics:
        await ensure_topics(settings.kafka_bootstrap)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as resources:
        pool = await create_pool(settings.dsn, min_size=1, max_size=len(factories) + len(background) + 2)
        resources.push_async_callback(pool.close)
        producer = build_producer(settings, client_id="pulse-consumer-deadletters")
        await producer.start()
        resources.push_async_callback(producer.stop)
        registry = service_registry()
        metrics = ConsumerMetrics.create(registry)
        runners: list[ProjectionRunner[Any]] = []
        for factory in factories:
            projection = factory(pool)
            consumer = build_consumer(settings, group_id=projection.name, client_id=projection.name)
            await consumer.start()
            resources.push_async_callback(consumer.stop)
            log.info("%s: consuming %s", projection.name, ", ".join(projection.topics))
            runners.append(
                ProjectionRunner(
                    projection,
                    pool=pool,
                    consumer=consumer,
                    producer=producer,
                    max_records=max_records,
                    broker_unreachable_s=settings.kafka_unreachable_exit_s,
                    database_unreachable_s=settings.database_unreachable_exit_s,
                    metrics=metrics,
                )
            )
        registry.register(ConsumerProgressCollector(runners))
        freeze_startup_heap()
        try:
            async with asyncio.TaskGroup() as group:
                for runner in runners:
                    group.create_task(runner.run(stop), name=runner.name)
                for task in background:
                    group.create_task(task(pool, stop))
                if http is not None:
                    silence_s = max(10.0, settings.kafka_unreachable_exit_s / 2)
                    app = consumer_app(pool, runners, registry, broker_silence_s=silence_s)
                    group.create_task(serve_until(app, *http, stop), name="http")
        except* Exception as failures:
            # Logged here, before the clients close: closing them on a dead broker may raise errors of its own.
            for failure in failures.exceptions:
                log.error("a projection runner failed: %s", failure, exc_info=failure)
            raise
        log.info("stopped after finishing every batch under way")
