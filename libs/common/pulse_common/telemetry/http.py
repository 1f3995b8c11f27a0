"""Counting and timing every HTTP request by its route template (never the concrete path, which names projects),
and logging it at DEBUG the same way: no path values, query, headers or body, so no key or payload."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_common.telemetry.catalog import HttpMetrics

log = logging.getLogger(__name__)

UNMATCHED = "unmatched"  # no route: a 404, or a method the path does not take


def route_of(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def record_error_code(scope: Scope, code: str) -> None:
    """Called by the error handlers: the ``code`` of an error answer, for the request counter."""
    scope.setdefault("state", {})["error_code"] = code


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler ends as a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route, method = route_of(scope), scope.get("method", "")
            code = scope.get("state", {}).get("error_code", "") if status >= 400 else ""
            self.metrics.requests.labels(route, method, str(status), code).inc()
            seconds = time.perf_counter() - started
            self.metrics.duration.labels(route, method).observe(seconds)
            log.debug("%s %s answered %d %s in %.1f ms", method, route, status, code, seconds * 1000)


def instrument(app: FastAPI, registry: CollectorRegistry) -> None:
    """Count and time every request of ``app`` into ``registry``."""
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics.create(registry))
