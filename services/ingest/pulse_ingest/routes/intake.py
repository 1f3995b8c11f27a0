"""Steps every ingest endpoint shares: key, rate limit, event-time rules, publishing and the receipt."""

from datetime import datetime

from fastapi import Request
from fastapi.responses import JSONResponse

from pulse_common.http.errors import ApiError
from pulse_common.telemetry.catalog import IngestMetrics
from pulse_ingest.auth import project_of_write_key
from pulse_ingest.event_time import TimeRules
from pulse_ingest.pipeline import IngestPipeline, Outcome
from pulse_ingest.publisher import BrokerUnavailable
from pulse_ingest.ratelimit import RateLimited, TokenBuckets
from pulse_ingest.segment import time_rules
from pulse_ingest.settings import IngestSettings

# text/plain: browsers' navigator.sendBeacon cannot send application/json without a CORS preflight.
JSON_MEDIA_TYPES = ("application/json", "text/plain")


def settings_of(request: Request) -> IngestSettings:
    settings: IngestSettings = request.app.state.settings
    return settings


async def authorize(request: Request, key: str | None, *, cost: int) -> str:
    """The project of the write key, once its rate limit allows ``cost`` more events."""
    project = await project_of_write_key(request, key)
    assert key is not None
    limiter: TokenBuckets = request.app.state.rate_limits
    try:
        limiter.take(key, max(cost, 1))
    except RateLimited as exc:
        raise ApiError(
            429,
            "rate_limited",
            f"this write key sends more than its rate allows; retry after {exc.retry_after_s} s",
            {"Retry-After": str(exc.retry_after_s)},
        ) from exc
    return project


def rules(settings: IngestSettings, horizon_days: float) -> TimeRules:
    return time_rules(settings.clock_drift_threshold_s, settings.max_future_s, horizon_days)


def check_count(settings: IngestSettings, field: str, count: int) -> None:
    if count > settings.max_batch_events:
        raise ApiError(
            400, "too_many_events", f"{field}: {count} items; the limit is {settings.max_batch_events} per request"
        )


async def settle(
    request: Request,
    project: str,
    stream: str,
    outcomes: list[Outcome],
    received_at: datetime,
    *,
    may_hold_nul: bool = True,
) -> JSONResponse:
    """Publish, wait for the broker, answer with the receipt (503 with Retry-After when the broker fails)."""
    pipeline: IngestPipeline = request.app.state.pipeline
    metrics: IngestMetrics = request.app.state.ingest_metrics
    metrics.request_events.labels(stream).observe(len(outcomes))
    metrics.request_bytes.labels(stream).observe(getattr(request.state, "body_bytes", 0))
    try:
        receipt = await pipeline.settle(project, stream, outcomes, received_at, may_hold_nul=may_hold_nul)
    except BrokerUnavailable as exc:
        retry_after = str(settings_of(request).retry_after_s)
        raise ApiError(
            503,
            "broker_unavailable",
            "events could not be stored; nothing was accepted, retry later",
            {"Retry-After": retry_after},
        ) from exc
    return JSONResponse(receipt.as_json())
