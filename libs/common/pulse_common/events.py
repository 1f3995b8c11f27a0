"""The events Pulse writes to its topics: past-tense facts, each with a ``schema_version``.

Ingest builds them from what clients send; consumers decode them with :mod:`pulse_common.codec`.
Every event carries its ``project`` and an ``event_id`` (UUIDv5 of project and client messageId when the client
sent one, so a retried message keeps its id; otherwise a fresh UUIDv4).
"""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec

UsageType = Literal["track", "page", "screen", "identify", "group", "alias"]
SessionStatus = Literal["ok", "exited", "crashed", "abnormal"]
FeedbackKind = Literal["nps", "csat", "ces"]


class Event(msgspec.Struct, kw_only=True, frozen=True, tag_field="event_type", gc=False):
    """Fields every event has.

    ``gc=False``: events hold only JSON data, which cannot form reference cycles, so the garbage collector need not
    track them (ingest builds one per accepted event).
    """

    schema_version: int = 1
    event_id: UUID
    project: str
    received_at: datetime


class UsageEventRecorded(Event, kw_only=True, frozen=True, tag="usage"):
    """A Segment-style call (track, page, screen, identify, group, alias) accepted by ingest."""

    type: UsageType
    # track: the event name; page/screen: the page or screen name; others: None.
    name: str | None = None
    message_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    distinct_id: str
    # Event time after clock-drift correction (product.md §2); `original_timestamp` is what the client sent.
    timestamp: datetime
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    traits: dict[str, Any] = msgspec.field(default_factory=dict)
    context: dict[str, Any] = msgspec.field(default_factory=dict)
    integrations: dict[str, Any] = msgspec.field(default_factory=dict)
    group_id: str | None = None
    previous_id: str | None = None


class SessionUpdated(Event, kw_only=True, frozen=True, tag="session_update"):
    """One release-health session update (Sentry semantics, product.md §5)."""

    session_id: str
    # Sentry's `did`; None when the app did not set a user (such sessions count for sessions, not for users).
    distinct_id: str | None = None
    init: bool = False
    started: datetime
    timestamp: datetime
    status: SessionStatus
    errors: int = 0
    duration_s: float | None = None
    release: str
    environment: str = "production"


class SessionsAggregated(Event, kw_only=True, frozen=True, tag="session_aggregate"):
    """Pre-aggregated session counts for one started minute, release and environment (additive)."""

    started: datetime
    release: str
    environment: str = "production"
    # The user of these sessions when the SDK knows it; None for a server's aggregate over many users.
    distinct_id: str | None = None
    exited: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0


class FeedbackResponded(Event, kw_only=True, frozen=True, tag="feedback_response"):
    """One NPS / CSAT / CES answer with its optional comment."""

    message_id: str | None = None
    distinct_id: str
    user_id: str | None = None
    anonymous_id: str | None = None
    kind: FeedbackKind
    score: int
    comment: str | None = None
    feature: str | None = None
    release: str | None = None
    channel: str | None = None
    survey: str | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    timestamp: datetime


class UserDeleted(Event, kw_only=True, frozen=True, tag="user_deleted"):
    """A person was erased: every projection removes their contributions (published on every event topic)."""

    distinct_id: str


UsageStreamEvent = UsageEventRecorded | UserDeleted
SessionStreamEvent = SessionUpdated | SessionsAggregated | UserDeleted
FeedbackStreamEvent = FeedbackResponded | UserDeleted


class DeadLetter(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """A message that can never be processed, kept with its reason and where it came from."""

    schema_version: int = 1
    # Each letter is one occurrence: a client sending the same bad event twice is told twice.
    event_id: UUID = msgspec.field(default_factory=uuid4)
    # "ingest" for events refused at the door; the consumer's name for poison messages found in a topic.
    origin: str
    code: str
    reason: str
    failed_at: datetime
    project: str | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    # For events refused at ingest: the client's messageId and the stream it was sent to (usage/sessions/feedback).
    message_id: str | None = None
    stream: str | None = None
    payload: bytes = b""


def split_at_erasures(events: Sequence[Any]) -> Iterator[list[Any] | UserDeleted]:
    """A batch in order: each run of events between erasures (never empty), and each erasure in its place, so an
    erasure takes out what came before it and not what follows."""
    run: list[Any] = []
    for event in events:
        if isinstance(event, UserDeleted):
            if run:
                yield run
                run = []
            yield event
        else:
            run.append(event)
    if run:
        yield run
