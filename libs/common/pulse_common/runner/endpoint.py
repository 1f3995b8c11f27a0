"""A consumer process's own HTTP endpoint: ``/healthz``, ``/readyz`` (database, broker) and ``/metrics`` (events
applied, duplicates, dead letters, batch durations, lag per partition, freshness), for probes and Prometheus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from pulse_common.http.health import health_router
from pulse_common.runner.runner import ProjectionRunner


class BrokerSilent(RuntimeError):
    pass


def consumer_app(
    pool: asyncpg.Pool, runners: Sequence[ProjectionRunner[Any]], registry: CollectorRegistry, broker_silence_s: float
) -> FastAPI:
    async def database_ready() -> None:
        await pool.fetchval("SELECT 1")

    async def broker_ready() -> None:
        silent = [r.name for r in runners if r.broker_silent_s() > broker_silence_s]
        if silent:
            raise BrokerSilent(f"no broker answer for {broker_silence_s:.0f} s: {', '.join(silent)}")

    app = FastAPI(title="Pulse consumer", openapi_url=None)
    app.include_router(health_router({"database": database_ready, "broker": broker_ready}, registry))
    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process's own handlers stop the runners first; this server stops when they have (serve_until).
        yield


async def serve_until(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"))

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked())
    try:
        await server.serve()
    finally:
        watcher.cancel()
