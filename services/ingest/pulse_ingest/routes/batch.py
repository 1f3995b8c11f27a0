"""``POST /v1/batch``: the Segment batch call. The raw body is decoded by msgspec, never by FastAPI's body parsing."""

from datetime import UTC, datetime

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_common import codec, topics
from pulse_common.events import UsageEventRecorded
from pulse_common.http.errors import ApiError
from pulse_ingest.auth import presented_write_key, project_of_write_key
from pulse_ingest.body import read_body
from pulse_ingest.publisher import BrokerUnavailable, Publisher
from pulse_ingest.receipts import Receipt
from pulse_ingest.segment import RequestContext, SegmentBatch, as_utc, build_usage_event, time_rules
from pulse_ingest.settings import IngestSettings

router = APIRouter()

_decode_batch = msgspec.json.Decoder(SegmentBatch).decode

_BATCH_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["batch"],
                    "properties": {
                        "batch": {"type": "array", "items": {"type": "object"}},
                        "writeKey": {"type": "string"},
                        "sentAt": {"type": "string", "format": "date-time"},
                        "context": {"type": "object"},
                    },
                }
            }
        },
    }
}


@router.post("/v1/batch", openapi_extra=_BATCH_DOC)
async def post_batch(request: Request) -> JSONResponse:
    settings: IngestSettings = request.app.state.settings
    received_at = datetime.now(UTC)
    raw = await read_body(request, settings.max_request_bytes)
    try:
        body = _decode_batch(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ApiError(400, "invalid_body", f"the body is not a Segment batch: {exc}") from exc
    project = await project_of_write_key(request, presented_write_key(request, body.writeKey))
    if len(body.batch) > settings.max_batch_events:
        raise ApiError(
            400,
            "too_many_events",
            f"batch: {len(body.batch)} events; the limit is {settings.max_batch_events} per request",
        )
    context = RequestContext(
        project=project,
        received_at=received_at,
        sent_at=as_utc(body.sentAt),
        context=body.context,
        rules=time_rules(settings.clock_drift_threshold_s, settings.max_future_s, settings.usage_horizon_days),
        max_event_bytes=settings.max_event_bytes,
    )
    receipt = Receipt()
    accepted: list[UsageEventRecorded] = []
    seen_message_ids: set[str] = set()
    for index, raw_message in enumerate(body.batch):
        outcome = build_usage_event(index, bytes(raw_message), context)
        if not isinstance(outcome, UsageEventRecorded):
            receipt.rejected.append(outcome)
            continue
        if outcome.message_id is not None:
            if outcome.message_id in seen_message_ids:
                receipt.duplicates.append({"index": index, "messageId": outcome.message_id})
                continue
            seen_message_ids.add(outcome.message_id)
        accepted.append(outcome)
    publisher: Publisher = request.app.state.publisher
    try:
        await publisher.publish(
            topics.USAGE, [(topics.message_key(e.project, e.distinct_id), codec.encode(e)) for e in accepted]
        )
    except BrokerUnavailable as exc:
        raise ApiError(
            503,
            "broker_unavailable",
            "events could not be stored; retry later",
            {"Retry-After": str(settings.retry_after_s)},
        ) from exc
    receipt.accepted = len(accepted)
    return JSONResponse(receipt.as_json())
