"""Building the feedback API from settings (health, readiness and metrics for now)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pulse_common.db import create_pool
from pulse_common.http.errors import install_error_handlers
from pulse_common.http.health import health_router, service_registry
from pulse_feedback.settings import FeedbackSettings


def create_app(settings: FeedbackSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="Pulse feedback", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app.include_router(health_router({"database": database_ready}, service_registry()))
    return app
