"""Release-health sessions: ``POST /v1/sessions`` and the Sentry envelope endpoint
``POST /api/{project_id}/envelope/`` (point a Sentry SDK's DSN at ingest: ``http://<write key>@host:8000/1``)."""

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_common import topics
from pulse_common.events import SessionsAggregated, SessionUpdated
from pulse_common.http.errors import ApiError
from pulse_ingest.auth import presented_write_key
from pulse_ingest.body import check_media_type, read_body
from pulse_ingest.envelope import InvalidEnvelope, parse_envelope
from pulse_ingest.pipeline import Accepted, Outcome
from pulse_ingest.rejections import Rejection
from pulse_ingest.routes.intake import JSON_MEDIA_TYPES, authorize, check_count, rules, settings_of, settle
from pulse_ingest.segment import as_utc
from pulse_ingest.sessions import (
    SentrySessionsItem,
    SessionContext,
    SessionsBody,
    aggregate_from,
    aggregates_of_sentry_item,
    build_aggregate,
    build_session_update,
)

STREAM = "sessions"
_SENTRY_KEY = re.compile(r"sentry_key\s*=\s*([^,\s]+)")
ENVELOPE_MEDIA_TYPES = ("application/x-sentry-envelope", "application/octet-stream", "text/plain")


@cache
def _body_decoder() -> msgspec.json.Decoder[SessionsBody]:
    return msgspec.json.Decoder(SessionsBody)


@cache
def _sentry_sessions_decoder() -> msgspec.json.Decoder[SentrySessionsItem]:
    return msgspec.json.Decoder(SentrySessionsItem)


def _accepted(index: int, event: SessionUpdated | SessionsAggregated) -> Accepted:
    if isinstance(event, SessionUpdated):
        # One session's updates share a partition (and a user's sessions too, when the SDK knows the user).
        key = topics.session_key(event.project, event.distinct_id, event.session_id)
        return Accepted.of(index, event.session_id, event, topics.SESSIONS, key, deduplicable=True)
    key = topics.aggregate_key(event.project, event.release, event.environment)
    return Accepted.of(index, None, event, topics.SESSIONS, key, deduplicable=False)


def _outcome(index: int, built: SessionUpdated | SessionsAggregated | Rejection) -> Outcome:
    return built if isinstance(built, Rejection) else _accepted(index, built)


def _context(request: Request, project: str, received_at: datetime, sent_at: datetime | None) -> SessionContext:
    settings = settings_of(request)
    return SessionContext(
        project=project,
        received_at=received_at,
        sent_at=as_utc(sent_at),
        rules=rules(settings, settings.session_horizon_days),
    )


async def post_sessions(request: Request) -> JSONResponse:
    settings = settings_of(request)
    received_at = datetime.now(UTC)
    check_media_type(request, JSON_MEDIA_TYPES)
    raw = await read_body(request, settings.max_request_bytes)
    try:
        body = _body_decoder().decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_body", f"the body is not a sessions request: {exc}") from exc
    count = len(body.sessions) + len(body.aggregates)
    check_count(settings, "sessions + aggregates", count)
    project = await authorize(request, presented_write_key(request, body.writeKey), cost=count)
    ctx = _context(request, project, received_at, body.sentAt)
    outcomes = [_outcome(i, build_session_update(i, bytes(raw_item), ctx)) for i, raw_item in enumerate(body.sessions)]
    offset = len(body.sessions)
    outcomes += [
        _outcome(offset + i, build_aggregate(offset + i, bytes(raw_item), ctx))
        for i, raw_item in enumerate(body.aggregates)
    ]
    return await settle(request, project, STREAM, outcomes, received_at)


def sentry_key(request: Request, header: dict[str, Any]) -> str | None:
    """The DSN's public key: from X-Sentry-Auth, the sentry_key query parameter, or the envelope's dsn."""
    for source in (request.headers.get("x-sentry-auth", ""), request.headers.get("authorization", "")):
        match = _SENTRY_KEY.search(source)
        if match:
            return match[1]
    if request.query_params.get("sentry_key"):
        return request.query_params["sentry_key"]
    dsn = header.get("dsn")
    if isinstance(dsn, str) and "@" in dsn and "://" in dsn:
        return dsn.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0] or None
    return None


async def post_envelope(request: Request, project_id: str) -> JSONResponse:
    """Session items are taken; every other item type (errors, transactions…) is acknowledged and ignored.

    The project comes from the key: the DSN's numeric project id is not used (any number works).
    """
    settings = settings_of(request)
    received_at = datetime.now(UTC)
    check_media_type(request, ENVELOPE_MEDIA_TYPES)
    raw = await read_body(request, settings.max_envelope_bytes)
    try:
        envelope = parse_envelope(raw)
    except InvalidEnvelope as exc:
        raise ApiError(400, "invalid_envelope", str(exc)) from exc
    session_items = [item for item in envelope.items if item.type in ("session", "sessions")]
    check_count(settings, "envelope items", len(session_items))
    project = await authorize(request, sentry_key(request, envelope.header), cost=len(session_items))
    sent_at = _parse_time(envelope.header.get("sent_at"))
    ctx = _context(request, project, received_at, sent_at)
    outcomes: list[Outcome] = []
    for item in session_items:
        index = len(outcomes)
        if item.type == "session":
            outcomes.append(_outcome(index, build_session_update(index, item.payload, ctx)))
            continue
        try:
            sessions_item = _sentry_sessions_decoder().decode(item.payload)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
            outcomes.append(Rejection(index, None, "invalid_aggregate", str(exc), item.payload))
            continue
        for wire in aggregates_of_sentry_item(sessions_item):
            outcomes.append(_outcome(len(outcomes), aggregate_from(len(outcomes), wire, ctx)))
    response = await settle(request, project, STREAM, outcomes, received_at)
    if isinstance(envelope.header.get("event_id"), str):
        response.headers["X-Sentry-Event-Id"] = envelope.header["event_id"]
    return response


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def sessions_router() -> APIRouter:
    router = APIRouter(tags=["sessions"])
    router.add_api_route(
        "/v1/sessions",
        post_sessions,
        methods=["POST"],
        summary="Release-health sessions",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "sessions": {"type": "array", "items": {"type": "object"}},
                                "aggregates": {"type": "array", "items": {"type": "object"}},
                                "writeKey": {"type": "string"},
                            },
                        }
                    }
                },
            }
        },
    )
    router.add_api_route(
        "/api/{project_id}/envelope/",
        post_envelope,
        methods=["POST"],
        summary="Sentry envelope (session and sessions items)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/x-sentry-envelope": {"schema": {"type": "string"}}},
            }
        },
    )
    return router
