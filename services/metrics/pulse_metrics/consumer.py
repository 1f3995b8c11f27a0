"""The metrics consumer: every projection of the metrics service, each run by the shared projection runner."""

import asyncpg

from pulse_common.runner.process import ProjectionFactory, run_projections
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.projections.rejections import RejectionsProjection
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from pulse_metrics.settings import MetricsSettings


def named_factories(settings: MetricsSettings) -> dict[str, ProjectionFactory]:
    """Every metrics projection by its name (each projection's ``name``)."""

    def daily_events(pool: asyncpg.Pool) -> DailyEventsProjection:
        return DailyEventsProjection(pool, topic=settings.usage_topic)

    def rejections(pool: asyncpg.Pool) -> RejectionsProjection:
        return RejectionsProjection(pool, topic=settings.deadletter_topic)

    def adoption(pool: asyncpg.Pool) -> AdoptionProjection:
        return AdoptionProjection(pool, topic=settings.usage_topic)

    def release_health(pool: asyncpg.Pool) -> ReleaseHealthProjection:
        return ReleaseHealthProjection(pool, topic=settings.sessions_topic)

    return {
        "metrics.daily_events": daily_events,
        "metrics.rejections": rejections,
        "metrics.adoption": adoption,
        "metrics.release_health": release_health,
    }


def projection_factories(settings: MetricsSettings) -> list[ProjectionFactory]:
    """The projections this process runs: those ``consumer_projections`` names, or every one."""
    named = named_factories(settings)
    chosen = [n.strip() for n in settings.consumer_projections.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(named))
    if unknown:
        raise ValueError(
            f"PULSE_CONSUMER_PROJECTIONS: no projection named {', '.join(unknown)}; known: {', '.join(named)}"
        )
    return [factory for name, factory in named.items() if not chosen or name in chosen]


async def run_consumer(settings: MetricsSettings) -> None:
    await run_projections(
        settings,
        projection_factories(settings),
        max_records=settings.consumer_max_records,
        http=(settings.host, settings.consumer_port),
    )
