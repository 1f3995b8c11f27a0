"""Release-health sessions (Sentry semantics, product.md §5): wire formats, and turning them into events.

Two shapes arrive: session updates (one session's state: ``sid``, ``did``, ``status``…) and aggregates (counts of
sessions started in one minute, from SDKs in request mode). Both need ``attrs.release``.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Annotated, Literal, TypeVar

import msgspec

from pulse_common.events import SessionsAggregated, SessionUpdated
from pulse_common.identity import EVENT_ID_NAMESPACE, event_id_for, uuid5
from pulse_ingest.event_time import EventTimeRejected, RequestTime
from pulse_ingest.rejections import Rejection, message_id_of
from pulse_ingest.segment import as_utc

Count = Annotated[int, msgspec.Meta(ge=0)]
DEFAULT_ENVIRONMENT = "production"


class SessionAttrs(msgspec.Struct):
    release: str | None = None
    environment: str | None = None


class SessionUpdateWire(msgspec.Struct):
    sid: Annotated[str, msgspec.Meta(min_length=1)]
    started: datetime
    did: str | int | None = None
    init: bool = False
    timestamp: datetime | None = None
    status: Literal["ok", "exited", "crashed", "abnormal"] = "ok"
    errors: Count = 0
    duration: Annotated[float, msgspec.Meta(ge=0)] | None = None
    attrs: SessionAttrs | None = None


class AggregateWire(msgspec.Struct, rename={"message_id": "messageId"}):
    started: datetime
    attrs: SessionAttrs | None = None
    # The user these sessions belong to, when the SDK knows it (Sentry buckets carry it as `did`).
    did: str | int | None = None
    exited: Count = 0
    errored: Count = 0
    crashed: Count = 0
    abnormal: Count = 0
    message_id: str | None = None


class SessionsBody(msgspec.Struct):
    """``POST /v1/sessions``."""

    sessions: list[msgspec.Raw] = msgspec.field(default_factory=list)
    aggregates: list[msgspec.Raw] = msgspec.field(default_factory=list)
    writeKey: str | None = None  # noqa: N815 - Segment-style field name
    sentAt: datetime | None = None  # noqa: N815


class SentryAggregateBucket(msgspec.Struct):
    started: datetime
    did: str | None = None
    exited: Count = 0
    errored: Count = 0
    crashed: Count = 0
    abnormal: Count = 0


class SentrySessionsItem(msgspec.Struct):
    """A Sentry envelope ``sessions`` item: buckets sharing one set of attrs."""

    aggregates: list[SentryAggregateBucket]
    attrs: SessionAttrs | None = None


@dataclass(frozen=True)
class SessionContext(RequestTime):
    project: str


@cache
def _update_decoder() -> msgspec.json.Decoder[SessionUpdateWire]:
    return msgspec.json.Decoder(SessionUpdateWire)


@cache
def _aggregate_decoder() -> msgspec.json.Decoder[AggregateWire]:
    return msgspec.json.Decoder(AggregateWire)


def build_session_update(index: int, raw: bytes, ctx: SessionContext) -> SessionUpdated | Rejection:
    try:
        wire = _update_decoder().decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        return Rejection(index, message_id_of(raw, "sid"), "invalid_session", str(exc), raw)
    return _with_payload(session_update_from(index, wire, ctx), raw)


def session_update_from(index: int, wire: SessionUpdateWire, ctx: SessionContext) -> SessionUpdated | Rejection:
    release = (wire.attrs.release or "").strip() if wire.attrs else ""
    if not release:
        return Rejection(index, wire.sid, "missing_release", "attrs.release is required")
    started = as_utc(wire.started)
    assert started is not None
    client_time = as_utc(wire.timestamp) or started
    try:
        timestamp = ctx.clock.event_time(client_time)
    except EventTimeRejected as exc:
        return Rejection(index, wire.sid, exc.code, str(exc))
    drift = timestamp - client_time
    distinct_id = str(wire.did).strip() or None if wire.did is not None else None
    return SessionUpdated(
        # A retried update is the same update: its id derives from the session and its state as the client sent
        # them (the corrected time would differ between two sends by a client whose clock drifts).
        event_id=uuid5(
            EVENT_ID_NAMESPACE,
            f"{ctx.project}\x00session\x00{wire.sid}\x00{as_utc(wire.timestamp or wire.started)}"
            f"\x00{wire.status}\x00{wire.errors}\x00{wire.init}",
        ),
        project=ctx.project,
        received_at=ctx.received_at,
        session_id=wire.sid,
        distinct_id=distinct_id,
        init=wire.init,
        started=started + drift,
        timestamp=timestamp,
        status=wire.status,
        errors=wire.errors,
        duration_s=wire.duration,
        release=release,
        environment=_environment(wire.attrs),
    )


def build_aggregate(index: int, raw: bytes, ctx: SessionContext) -> SessionsAggregated | Rejection:
    try:
        wire = _aggregate_decoder().decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        return Rejection(index, message_id_of(raw), "invalid_aggregate", str(exc), raw)
    return _with_payload(aggregate_from(index, wire, ctx), raw)


def aggregate_from(index: int, wire: AggregateWire, ctx: SessionContext) -> SessionsAggregated | Rejection:
    release = (wire.attrs.release or "").strip() if wire.attrs else ""
    if not release:
        return Rejection(index, wire.message_id, "missing_release", "attrs.release is required")
    started_at = as_utc(wire.started)
    assert started_at is not None  # a required field
    try:
        started = ctx.clock.event_time(started_at)
    except EventTimeRejected as exc:
        return Rejection(index, wire.message_id, exc.code, str(exc))
    return SessionsAggregated(
        # Aggregates are additive: two identical ones from two servers are two, so only a messageId dedups them.
        event_id=event_id_for(ctx.project, f"aggregate\x00{wire.message_id}" if wire.message_id else None),
        project=ctx.project,
        received_at=ctx.received_at,
        started=started.replace(second=0, microsecond=0),
        release=release,
        environment=_environment(wire.attrs),
        distinct_id=str(wire.did).strip() or None if wire.did is not None else None,
        exited=wire.exited,
        errored=wire.errored,
        crashed=wire.crashed,
        abnormal=wire.abnormal,
    )


def aggregates_of_sentry_item(item: SentrySessionsItem) -> list[AggregateWire]:
    return [
        AggregateWire(
            started=bucket.started,
            attrs=item.attrs,
            exited=bucket.exited,
            errored=bucket.errored,
            crashed=bucket.crashed,
            abnormal=bucket.abnormal,
            did=bucket.did,
        )
        for bucket in item.aggregates
    ]


def _environment(attrs: SessionAttrs | None) -> str:
    environment = (attrs.environment or "").strip() if attrs else ""
    return environment or DEFAULT_ENVIRONMENT


Built = TypeVar("Built", SessionUpdated, SessionsAggregated)


def _with_payload(outcome: Built | Rejection, raw: bytes) -> Built | Rejection:
    return replace(outcome, payload=raw) if isinstance(outcome, Rejection) else outcome
