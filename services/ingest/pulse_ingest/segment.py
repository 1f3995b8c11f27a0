"""The Segment HTTP Tracking API's wire format, and turning one message into a usage event or a rejection.

Each message of a batch is decoded on its own, so one bad message never rejects its good neighbours.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import Any

import msgspec

from pulse_common.events import UsageType
from pulse_common.identity import ProjectEventIds
from pulse_ingest.event_time import EventTimeRejected, RequestTime, TimeRules
from pulse_ingest.rejections import Rejection, message_id_of, too_large
from pulse_ingest.usage_record import USAGE_SCHEMA_VERSION, UsageRecord

Identifier = str | int


class SegmentMessage(msgspec.Struct, rename="camel", gc=False):
    type: UsageType | None = None
    message_id: str | None = None
    user_id: Identifier | None = None
    anonymous_id: Identifier | None = None
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    timestamp: datetime | None = None
    group_id: Identifier | None = None
    previous_id: Identifier | None = None


class _BatchRequest(msgspec.Struct, kw_only=True, gc=False):
    """A batch request's own fields, beside its messages."""

    writeKey: str | None = None  # noqa: N815 - Segment's field name
    sentAt: datetime | None = None  # noqa: N815
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None


class SegmentBatch(_BatchRequest, kw_only=True, gc=False):
    """A batch request decoded whole, every message typed: the common case, in one pass over the body."""

    batch: list[SegmentMessage]


class SegmentRawBatch(_BatchRequest, kw_only=True, gc=False):
    """The same request with each message kept as its bytes: when a message does not decode (it is refused alone),
    for the bytes of a refused message (its dead letter), and for the sizes of the messages of a large body."""

    batch: list[msgspec.Raw]


@dataclass(frozen=True)
class RequestContext(RequestTime):
    project: str
    context: dict[str, Any] | None
    max_event_bytes: int
    integrations: dict[str, Any] | None = None

    @cached_property
    def event_ids(self) -> ProjectEventIds:
        """Worked out once per request, for all of its events."""
        return ProjectEventIds(self.project)


@cache
def _message_decoder() -> msgspec.json.Decoder[SegmentMessage]:
    return msgspec.json.Decoder(SegmentMessage)


@cache
def _batch_decoder() -> msgspec.json.Decoder[SegmentBatch]:
    return msgspec.json.Decoder(SegmentBatch)


@cache
def _raw_batch_decoder() -> msgspec.json.Decoder[SegmentRawBatch]:
    return msgspec.json.Decoder(SegmentRawBatch)


def decode_batch(body: bytes) -> SegmentBatch | SegmentRawBatch:
    """The request, typed when every message decodes, else with each message as its bytes.

    Raises ``msgspec.DecodeError`` / ``ValidationError`` (or ``RecursionError``) when the body is no Segment batch.
    """
    try:
        return _batch_decoder().decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return _raw_batch_decoder().decode(body)


def as_utc(value: datetime | None) -> datetime | None:
    """Segment timestamps are ISO 8601; one without an offset is taken as UTC."""
    return None if value is None else in_utc(value)


def in_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # msgspec gives UTC itself for "Z" and "+00:00"
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(value: Identifier | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def build_usage_event(
    index: int, raw: bytes, request: RequestContext, call_type: UsageType | None = None
) -> UsageRecord | Rejection:
    """The usage event of one Segment message, or why it is refused (with its bytes, for the dead-letter topic).

    ``call_type`` is the type implied by a single-call endpoint (``/v1/track`` …); a batch message names its own.
    """
    outcome = _build(index, raw, request, call_type)
    if isinstance(outcome, Rejection):
        return replace(outcome, payload=raw[: request.max_event_bytes])
    return outcome


def _build(index: int, raw: bytes, request: RequestContext, call_type: UsageType | None) -> UsageRecord | Rejection:
    oversize = too_large(index, raw, request.max_event_bytes)
    if oversize is not None:
        return oversize
    try:
        message = _message_decoder().decode(raw)
    except msgspec.ValidationError as exc:
        return Rejection(index, message_id_of(raw), "invalid_event", str(exc))
    except (msgspec.DecodeError, RecursionError) as exc:
        return Rejection(index, None, "invalid_event", f"not a JSON object: {exc}")
    return _from_message(index, message, request, call_type)


def build_batch(
    decoded: SegmentBatch | SegmentRawBatch, body: bytes, request: RequestContext
) -> list[UsageRecord | Rejection]:
    """Every message of a batch request (``decode_batch``'s answer for ``body``). A batch holding a message that does
    not decode is built message by message, so the bad one is refused alone."""
    if isinstance(decoded, SegmentRawBatch):
        return [build_usage_event(i, bytes(raw), request) for i, raw in enumerate(decoded.batch)]
    limit = request.max_event_bytes
    # The messages' own bytes, decoded only when needed: no message can exceed the limit when the body is within it.
    raw_messages = _raw_batch_decoder().decode(body).batch if len(body) > limit else None
    outcomes: list[UsageRecord | Rejection] = []
    for index, message in enumerate(decoded.batch):
        if raw_messages is not None and len(raw_messages[index]) > limit:
            outcomes.append(build_usage_event(index, bytes(raw_messages[index]), request))
            continue
        outcome = _from_message(index, message, request, None)
        if isinstance(outcome, Rejection):  # its dead letter carries the message as sent
            raw_messages = raw_messages or _raw_batch_decoder().decode(body).batch
            outcome = replace(outcome, payload=bytes(raw_messages[index]))
        outcomes.append(outcome)
    return outcomes


def _from_message(
    index: int, message: SegmentMessage, request: RequestContext, call_type: UsageType | None
) -> UsageRecord | Rejection:
    # Runs once per event: the optional fields are looked at only when present.
    kind = call_type or message.type
    if kind is None:
        return Rejection(index, message.message_id, "invalid_event", "Object missing required field `type`")
    user_id, anonymous_id = _text(message.user_id), _text(message.anonymous_id)
    distinct_id = user_id or anonymous_id
    if distinct_id is None:
        return Rejection(index, message.message_id, "missing_identity", "userId or anonymousId is required")
    raw_name = message.event if kind == "track" else message.name
    name = raw_name.strip() or None if raw_name else None
    if kind == "track" and name is None:
        return Rejection(index, message.message_id, "missing_event", "event is required for a track call")
    previous_id = None if message.previous_id is None else _text(message.previous_id)
    if kind == "alias" and previous_id is None:
        return Rejection(index, message.message_id, "missing_previous_id", "previousId is required for an alias call")
    group_id = None if message.group_id is None else _text(message.group_id)
    if kind == "group" and group_id is None:
        return Rejection(index, message.message_id, "missing_group_id", "groupId is required for a group call")
    client_time = message.timestamp
    if client_time is None:
        timestamp = request.received_at
    else:
        client_time = in_utc(client_time)
        try:
            timestamp = request.clock.event_time(client_time)
        except EventTimeRejected as exc:
            return Rejection(index, message.message_id, exc.code, str(exc))
    message_id = message.message_id
    # By position, in UsageRecord's field order (see there why).
    return UsageRecord(
        USAGE_SCHEMA_VERSION,
        str(uuid.uuid4()) if message_id is None else request.event_ids.of(message_id),  # event_id
        request.project,
        request.received_at,
        kind,  # type
        name,
        message_id,
        user_id,
        anonymous_id,
        distinct_id,
        timestamp,
        client_time,  # original_timestamp
        request.sent_at,
        message.properties or {},
        message.traits or {},
        _merged(request.context, message.context) if request.context else message.context or {},
        _merged(request.integrations, message.integrations) if request.integrations else message.integrations or {},
        group_id,
        previous_id,
    )


def _merged(batch_level: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, Any]:
    """Batch-level context/integrations apply to every message; the message's own keys win."""
    if not batch_level:
        return own or {}
    return {**batch_level, **(own or {})}


def time_rules(drift_threshold_s: float, max_future_s: float, horizon_days: float) -> TimeRules:
    return TimeRules(
        drift_threshold=timedelta(seconds=drift_threshold_s),
        max_future=timedelta(seconds=max_future_s),
        horizon=timedelta(days=horizon_days),
    )
