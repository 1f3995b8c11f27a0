"""The feedback consumer: the satisfaction projection and the feedback service's own projections of usage and
sessions, each run by the shared projection runner, and the term packer beside them."""

import asyncio

import asyncpg

from pulse_common.runner.process import ProjectionFactory, run_projections
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.term_packer import pack_forever
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_feedback.settings import FeedbackSettings


def projection_factories(settings: FeedbackSettings) -> list[ProjectionFactory]:
    def satisfaction(pool: asyncpg.Pool) -> SatisfactionProjection:
        return SatisfactionProjection(pool, topic=settings.feedback_topic)

    def usage_context(pool: asyncpg.Pool) -> UsageContextProjection:
        return UsageContextProjection(pool, topic=settings.usage_topic)

    def crashes(pool: asyncpg.Pool) -> CrashesProjection:
        return CrashesProjection(pool, topic=settings.sessions_topic)

    return [satisfaction, usage_context, crashes]


async def run_consumer(settings: FeedbackSettings) -> None:
    async def term_packer(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        await pack_forever(pool, stop, every_s=settings.term_pack_every_s)

    await run_projections(
        settings,
        projection_factories(settings),
        max_records=settings.consumer_max_records,
        background=[term_packer],
        http=(settings.host, settings.consumer_port),
    )
