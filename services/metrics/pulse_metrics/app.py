"""Building the metrics read API from settings."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pulse_common.db import create_pool
from pulse_common.http.errors import install_error_handlers
from pulse_common.http.health import health_router, service_registry
from pulse_common.http.keys import KeyResolver
from pulse_common.telemetry.http import instrument
from pulse_metrics.release_watch import ReleaseWatch
from pulse_metrics.routes.adoption import adoption_router
from pulse_metrics.routes.events import events_router
from pulse_metrics.routes.features import features_router
from pulse_metrics.routes.rejections import rejections_router
from pulse_metrics.routes.releases import releases_router
from pulse_metrics.routes.users import users_router
from pulse_metrics.settings import MetricsSettings


def create_app(settings: MetricsSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        app.state.pool = pool
        app.state.keys = KeyResolver(pool, ttl_s=settings.key_cache_ttl_s)
        stop = asyncio.Event()
        watch = asyncio.create_task(
            release_watch.run(pool, stop, settings.release_watch_every_s, settings.release_watch_min_sessions)
        )
        try:
            yield
        finally:
            stop.set()
            watch.cancel()  # a refresh under way is dropped: its figures would be read by no one
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            await pool.close()

    app = FastAPI(title="Pulse metrics", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    registry = service_registry()
    release_watch = ReleaseWatch.create(registry)
    install_error_handlers(app)
    instrument(app, registry)  # outermost but for CORS: every answer is counted, refusals included

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app.include_router(health_router({"database": database_ready}, registry))
    app.include_router(events_router())
    app.include_router(rejections_router())
    app.include_router(adoption_router())
    app.include_router(features_router())
    app.include_router(users_router())
    app.include_router(releases_router())
    return app
