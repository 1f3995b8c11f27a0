"""Building the feedback read API from settings."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pulse_common.db import create_pool
from pulse_common.http.errors import install_error_handlers
from pulse_common.http.health import health_router, service_registry
from pulse_common.http.keys import KeyResolver
from pulse_common.telemetry.http import instrument
from pulse_feedback.routes.responses import responses_router
from pulse_feedback.routes.satisfaction import satisfaction_router
from pulse_feedback.settings import FeedbackSettings


def create_app(settings: FeedbackSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        app.state.pool = pool
        app.state.keys = KeyResolver(pool, ttl_s=settings.key_cache_ttl_s)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="Pulse feedback", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    registry = service_registry()
    install_error_handlers(app)
    instrument(app, registry)  # outermost but for CORS: every answer is counted, refusals included

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app.include_router(health_router({"database": database_ready}, registry))
    app.include_router(satisfaction_router())
    app.include_router(responses_router())
    return app
