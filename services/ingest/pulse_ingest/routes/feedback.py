"""``POST /v1/feedback``: NPS, CSAT and CES responses."""

from datetime import UTC, datetime
from functools import cache

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_common import topics
from pulse_common.events import FeedbackResponded
from pulse_common.http.errors import ApiError
from pulse_ingest.auth import presented_write_key
from pulse_ingest.body import check_media_type, read_body
from pulse_ingest.feedback import SCALES, FeedbackBody, FeedbackContext, build_feedback
from pulse_ingest.pipeline import Accepted, Outcome
from pulse_ingest.rejections import Rejection
from pulse_ingest.routes.intake import JSON_MEDIA_TYPES, authorize, check_count, rules, settings_of, settle
from pulse_ingest.segment import as_utc

STREAM = "feedback"


@cache
def _decoder() -> msgspec.json.Decoder[FeedbackBody]:
    return msgspec.json.Decoder(FeedbackBody)


def _outcome(index: int, built: FeedbackResponded | Rejection) -> Outcome:
    if isinstance(built, Rejection):
        return built
    key = topics.message_key(built.project, built.distinct_id)
    return Accepted.of(index, built.message_id, built, topics.FEEDBACK, key, deduplicable=built.message_id is not None)


async def post_feedback(request: Request) -> JSONResponse:
    settings = settings_of(request)
    received_at = datetime.now(UTC)
    check_media_type(request, JSON_MEDIA_TYPES)
    raw = await read_body(request, settings.max_request_bytes)
    try:
        body = _decoder().decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_body", f"the body is not a feedback request: {exc}") from exc
    check_count(settings, "responses", len(body.responses))
    project = await authorize(request, presented_write_key(request, body.writeKey), cost=len(body.responses))
    ctx = FeedbackContext(
        project=project,
        received_at=received_at,
        sent_at=as_utc(body.sentAt),
        rules=rules(settings, settings.feedback_horizon_days),
        max_event_bytes=settings.max_event_bytes,
    )
    outcomes = [_outcome(i, build_feedback(i, bytes(r), ctx)) for i, r in enumerate(body.responses)]
    return await settle(request, project, STREAM, outcomes, received_at)


def feedback_router() -> APIRouter:
    router = APIRouter(tags=["feedback"])
    schema = {
        "type": "object",
        "required": ["responses"],
        "properties": {
            "writeKey": {"type": "string"},
            "responses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "score"],
                    "properties": {
                        "kind": {"type": "string", "enum": list(SCALES)},
                        "score": {"type": "integer"},
                        "messageId": {"type": "string"},
                        "userId": {"type": "string"},
                        "anonymousId": {"type": "string"},
                        "comment": {"type": "string"},
                        "feature": {"type": "string"},
                        "release": {"type": "string"},
                        "channel": {"type": "string"},
                        "survey": {"type": "string"},
                        "properties": {"type": "object"},
                        "timestamp": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    }
    router.add_api_route(
        "/v1/feedback",
        post_feedback,
        methods=["POST"],
        summary="Feedback responses",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
    )
    return router
