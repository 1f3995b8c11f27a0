"""The metrics consumer: every usage projection of the metrics service, run by the shared projection runner."""

import asyncpg

from pulse_common.runner.process import run_projection
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.settings import MetricsSettings


async def run_consumer(settings: MetricsSettings) -> None:
    def make_projection(pool: asyncpg.Pool) -> DailyEventsProjection:
        return DailyEventsProjection(pool, topic=settings.usage_topic)

    await run_projection(settings, make_projection, max_records=settings.consumer_max_records)
