"""The Segment HTTP Tracking API: ``POST /v1/batch`` and the single calls ``/v1/track``, ``/v1/identify``…

The raw body is decoded by msgspec, never by FastAPI's generic body parsing.
"""

from datetime import UTC, datetime
from functools import cache
from typing import Any, get_args

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_common import codec, topics
from pulse_common.events import UsageType
from pulse_common.http.errors import ApiError
from pulse_ingest.auth import presented_write_key
from pulse_ingest.body import check_media_type, read_body
from pulse_ingest.pipeline import Accepted, Outcome, may_hold_nul
from pulse_ingest.routes.intake import JSON_MEDIA_TYPES, authorize, check_count, rules, settings_of, settle
from pulse_ingest.segment import (
    RequestContext,
    SegmentBatch,
    SegmentRawBatch,
    as_utc,
    build_batch,
    build_usage_event,
    decode_batch,
)
from pulse_ingest.usage_record import UsageRecord

STREAM = "usage"


class SegmentSingle(msgspec.Struct):
    """The request-level fields of a single call; the body itself is the message."""

    writeKey: str | None = None  # noqa: N815 - Segment's field name
    sentAt: datetime | None = None  # noqa: N815


@cache
def _single_decoder() -> msgspec.json.Decoder[SegmentSingle]:
    return msgspec.json.Decoder(SegmentSingle)


_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": list(get_args(UsageType))},
        "messageId": {"type": "string"},
        "userId": {"type": ["string", "integer", "null"]},
        "anonymousId": {"type": ["string", "integer", "null"]},
        "event": {"type": "string"},
        "name": {"type": "string"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}


def _doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _accepted(index: int, record: UsageRecord) -> Accepted:
    return Accepted(
        index,
        record.message_id,
        topics.USAGE,
        topics.usage_key(record.project, record.distinct_id, record.anonymous_id, record.previous_id),
        codec.encode(record),
        record.distinct_id,
        record.event_id if record.message_id is not None else None,
    )


def _context(
    request: Request,
    project: str,
    received_at: datetime,
    sent_at: datetime | None,
    batch: SegmentBatch | SegmentRawBatch | None = None,
) -> RequestContext:
    settings = settings_of(request)
    return RequestContext(
        project=project,
        received_at=received_at,
        sent_at=as_utc(sent_at),
        context=batch.context if batch else None,
        integrations=batch.integrations if batch else None,
        rules=rules(settings, settings.usage_horizon_days),
        max_event_bytes=settings.max_event_bytes,
    )


_BATCH_DOC = _doc(
    {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
            "writeKey": {"type": "string"},
            "sentAt": {"type": "string", "format": "date-time"},
            "context": {"type": "object"},
            "integrations": {"type": "object"},
        },
    }
)


async def post_batch(request: Request) -> JSONResponse:
    settings = settings_of(request)
    received_at = datetime.now(UTC)
    check_media_type(request, JSON_MEDIA_TYPES)
    raw = await read_body(request, settings.max_request_bytes)
    try:
        body = decode_batch(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_body", f"the body is not a Segment batch: {exc}") from exc
    check_count(settings, "batch", len(body.batch))
    project = await authorize(request, presented_write_key(request, body.writeKey), cost=len(body.batch))
    context = _context(request, project, received_at, body.sentAt, body)
    outcomes: list[Outcome] = [
        _accepted(index, outcome) if isinstance(outcome, UsageRecord) else outcome
        for index, outcome in enumerate(build_batch(body, raw, context))
    ]
    return await settle(request, project, STREAM, outcomes, received_at, may_hold_nul=may_hold_nul(raw))


def _single_call_route(router: APIRouter, call_type: UsageType) -> None:
    async def post_single(request: Request) -> JSONResponse:
        settings = settings_of(request)
        received_at = datetime.now(UTC)
        check_media_type(request, JSON_MEDIA_TYPES)
        raw = await read_body(request, settings.max_request_bytes)
        try:
            single = _single_decoder().decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
            raise ApiError(400, "invalid_body", f"the body is not a Segment {call_type} call: {exc}") from exc
        project = await authorize(request, presented_write_key(request, single.writeKey), cost=1)
        outcome = build_usage_event(0, raw, _context(request, project, received_at, single.sentAt), call_type)
        outcomes: list[Outcome] = [_accepted(0, outcome) if isinstance(outcome, UsageRecord) else outcome]
        return await settle(request, project, STREAM, outcomes, received_at)

    router.add_api_route(
        f"/v1/{call_type}",
        post_single,
        methods=["POST"],
        name=f"post_{call_type}",
        summary=f"Segment {call_type} call",
        openapi_extra=_doc(_MESSAGE_SCHEMA),
    )


def segment_router() -> APIRouter:
    router = APIRouter(tags=["segment"])
    router.add_api_route("/v1/batch", post_batch, methods=["POST"], summary="Segment batch", openapi_extra=_BATCH_DOC)
    for call_type in get_args(UsageType):
        _single_call_route(router, call_type)
    return router
