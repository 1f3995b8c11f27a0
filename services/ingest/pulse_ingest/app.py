"""Building the ingest app from settings: the producer and the database pool live in its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from pulse_common.db import create_pool
from pulse_common.http.direct_routes import DirectRoutes, takes_the_request_alone
from pulse_common.http.errors import install_error_handlers
from pulse_common.http.health import health_router, service_registry
from pulse_common.http.keys import KeyResolver
from pulse_common.kafka import build_producer, ensure_topics
from pulse_common.suppression import SuppressedUsers
from pulse_common.telemetry.catalog import IngestMetrics
from pulse_common.telemetry.http import instrument
from pulse_ingest.pipeline import IngestPipeline
from pulse_ingest.publisher import Publisher
from pulse_ingest.ratelimit import TokenBuckets
from pulse_ingest.recent import RecentEventIds
from pulse_ingest.routes.feedback import feedback_router
from pulse_ingest.routes.segment import segment_router
from pulse_ingest.routes.sessions import sessions_router
from pulse_ingest.routes.users import users_router
from pulse_ingest.settings import IngestSettings


def create_app(settings: IngestSettings, *, publisher: type[Publisher] = Publisher) -> FastAPI:
    """The ingest app; ``publisher`` is the class that publishes accepted events (a benchmark swaps it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.kafka_create_topics:
            await ensure_topics(settings.kafka_bootstrap)
        pool = await create_pool(settings.dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        producer = build_producer(settings, client_id="pulse-ingest")
        await producer.start()
        app.state.keys = KeyResolver(pool, ttl_s=settings.key_cache_ttl_s)
        metrics: IngestMetrics = app.state.ingest_metrics
        app.state.publisher = publisher(
            producer,
            timeout_s=settings.publish_timeout_s,
            duration=metrics.publish_duration,
            replacement=lambda: build_producer(settings, client_id="pulse-ingest"),
        )
        app.state.suppressed = SuppressedUsers(pool, ttl_s=settings.key_cache_ttl_s)
        app.state.pipeline = IngestPipeline(
            app.state.publisher, RecentEventIds(settings.recent_ids_capacity), metrics, app.state.suppressed
        )
        app.state.rate_limits = TokenBuckets(settings.rate_limit_events_per_s, settings.rate_limit_burst)
        app.state.pool = pool
        try:
            yield
        finally:
            await app.state.publisher.stop()  # its producer now: it may have replaced the first
            await pool.close()

    app = FastAPI(title="Pulse ingest", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    registry = service_registry()
    app.state.registry = registry
    app.state.ingest_metrics = IngestMetrics.create(registry)
    routers = [segment_router(), sessions_router(), feedback_router(), users_router()]
    # Innermost: the intake endpoints that read their own body (every one taking the Request alone) skip FastAPI's
    # routing; every middleware added below still wraps them.
    direct = [r for router in routers for r in router.routes if takes_the_request_alone(r)]
    app.add_middleware(DirectRoutes, owner=app, routes=direct)
    install_error_handlers(app)
    instrument(app, registry)  # outermost but for CORS: every answer is counted, refusals included
    # Browser SDKs send from any origin with the write key; no cookies are involved.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST", "OPTIONS"],
        expose_headers=["Retry-After"],
        allow_headers=["*"],
        max_age=86400,
    )

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def broker_ready() -> None:
        await app.state.publisher.check()

    app.include_router(health_router({"database": database_ready, "broker": broker_ready}, registry))
    for router in routers:
        app.include_router(router)
    return app
