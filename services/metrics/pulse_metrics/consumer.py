"""The metrics consumer: every projection of the metrics service, each run by the shared projection runner."""

import asyncpg

from pulse_common.runner.process import ProjectionFactory, run_projections
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.projections.rejections import RejectionsProjection
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from pulse_metrics.settings import MetricsSettings


def projection_factories(settings: MetricsSettings) -> list[ProjectionFactory]:
    def daily_events(pool: asyncpg.Pool) -> DailyEventsProjection:
        return DailyEventsProjection(pool, topic=settings.usage_topic)

    def rejections(pool: asyncpg.Pool) -> RejectionsProjection:
        return RejectionsProjection(pool, topic=settings.deadletter_topic)

    def adoption(pool: asyncpg.Pool) -> AdoptionProjection:
        return AdoptionProjection(pool, topic=settings.usage_topic)

    def release_health(pool: asyncpg.Pool) -> ReleaseHealthProjection:
        return ReleaseHealthProjection(pool, topic=settings.sessions_topic)

    return [daily_events, rejections, adoption, release_health]


async def run_consumer(settings: MetricsSettings) -> None:
    await run_projections(
        settings,
        projection_factories(settings),
        max_records=settings.consumer_max_records,
        http=(settings.host, settings.consumer_port),
    )
