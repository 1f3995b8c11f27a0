"""Feedback responses (NPS / CSAT / CES, product.md §6): wire format, scales, and turning one into an event."""

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

import msgspec

from pulse_common.events import FeedbackKind, FeedbackResponded
from pulse_common.identity import event_id_for
from pulse_ingest.event_time import EventTimeRejected, RequestTime
from pulse_ingest.rejections import Rejection, message_id_of, too_large
from pulse_ingest.segment import as_utc

# Inclusive score range of each kind.
SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class FeedbackWire(msgspec.Struct, rename="camel"):
    kind: str
    score: int
    message_id: str | None = None
    user_id: str | int | None = None
    anonymous_id: str | int | None = None
    comment: str | None = None
    feature: str | None = None
    release: str | None = None
    channel: str | None = None
    survey: str | None = None
    properties: dict[str, Any] | None = None
    timestamp: datetime | None = None


class FeedbackBody(msgspec.Struct):
    responses: list[msgspec.Raw]
    writeKey: str | None = None  # noqa: N815 - Segment-style field name
    sentAt: datetime | None = None  # noqa: N815


@dataclass(frozen=True)
class FeedbackContext(RequestTime):
    project: str
    max_event_bytes: int


@cache
def _decoder() -> msgspec.json.Decoder[FeedbackWire]:
    return msgspec.json.Decoder(FeedbackWire)


def _clean(value: str | int | None) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def build_feedback(index: int, raw: bytes, ctx: FeedbackContext) -> FeedbackResponded | Rejection:
    outcome = _build(index, raw, ctx)
    return replace(outcome, payload=raw[: ctx.max_event_bytes]) if isinstance(outcome, Rejection) else outcome


def _build(index: int, raw: bytes, ctx: FeedbackContext) -> FeedbackResponded | Rejection:
    oversize = too_large(index, raw, ctx.max_event_bytes, "response")
    if oversize is not None:
        return oversize
    try:
        wire = _decoder().decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        return Rejection(index, message_id_of(raw), "invalid_response", str(exc))
    scale = SCALES.get(wire.kind)
    if scale is None:
        return Rejection(
            index, wire.message_id, "unknown_kind", f"kind {wire.kind!r} is not one of {', '.join(SCALES)}"
        )
    low, high = scale
    if not low <= wire.score <= high:
        return Rejection(
            index,
            wire.message_id,
            "score_out_of_range",
            f"score {wire.score} is outside the {wire.kind} scale {low}-{high}",
        )
    user_id, anonymous_id = _clean(wire.user_id), _clean(wire.anonymous_id)
    distinct_id = user_id or anonymous_id
    if distinct_id is None:
        return Rejection(index, wire.message_id, "missing_identity", "userId or anonymousId is required")
    client_time = as_utc(wire.timestamp)
    try:
        timestamp = ctx.received_at if client_time is None else ctx.clock.event_time(client_time)
    except EventTimeRejected as exc:
        return Rejection(index, wire.message_id, exc.code, str(exc))
    kind: FeedbackKind = wire.kind  # type: ignore[assignment]  # checked against SCALES above
    return FeedbackResponded(
        event_id=event_id_for(ctx.project, f"feedback\x00{wire.message_id}" if wire.message_id else None),
        project=ctx.project,
        received_at=ctx.received_at,
        message_id=wire.message_id,
        distinct_id=distinct_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        kind=kind,
        score=wire.score,
        comment=(wire.comment or "").strip() or None,
        feature=_clean(wire.feature),
        release=_clean(wire.release),
        channel=_clean(wire.channel),
        survey=_clean(wire.survey),
        properties=wire.properties or {},
        timestamp=timestamp,
    )
