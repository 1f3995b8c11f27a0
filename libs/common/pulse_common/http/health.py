"""``/healthz`` (the process is alive), ``/readyz`` (its dependencies answer) and ``/metrics`` (Prometheus)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]


def service_registry() -> CollectorRegistry:
    """A registry per app (tests build several apps in one process), with the process, GC and platform figures."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
        registry.register(collector)
    return registry


def health_router(
    checks: dict[str, ReadinessCheck], registry: CollectorRegistry, *, timeout_s: float = 2.0
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    # Checks that timed out and are still unwinding (held, so they are not collected while running).
    unwinding: set[asyncio.Future[None]] = set()

    def unwound(task: asyncio.Future[None]) -> None:
        unwinding.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failure after the answer was given is no news

    async def within_timeout(check: ReadinessCheck) -> None:
        """``check``, given up on after ``timeout_s``. Not asyncio.wait_for: it waits until the cancelled check has
        unwound, and a query cancelled on a silent database connection unwinds only once the network answers again
        (asyncpg's pool returns the connection shielded from cancellation), so /readyz would hang for the outage."""
        task = asyncio.ensure_future(check())
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout_s)
        finally:
            if not task.done():
                task.cancel()
                unwinding.add(task)
                task.add_done_callback(unwound)
        if not done:
            raise TimeoutError(f"no answer in {timeout_s} s")
        task.result()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await within_timeout(check)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
