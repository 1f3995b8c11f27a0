"""Bytes <-> events through the decoder of each topic."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from pulse_common import codec, topics
from pulse_common.codec import UndecodableMessage, decoder_for, encode, topic_decoder
from pulse_common.events import (
    DeadLetter,
    FeedbackResponded,
    SessionsAggregated,
    SessionUpdated,
    UsageEventRecorded,
    UsageStreamEvent,
    UserDeleted,
)

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
EVENT_ID = uuid.UUID("be4563be-3711-5803-b0be-de904fd56d98")

USAGE = UsageEventRecorded(
    event_id=EVENT_ID,
    project="acme",
    received_at=RECEIVED,
    type="track",
    name="Signed Up",
    message_id="msg-1",
    user_id="u1",
    anonymous_id="a1",
    distinct_id="u1",
    timestamp=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
    original_timestamp=datetime(2026, 3, 1, 11, 30, tzinfo=UTC),
    sent_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    properties={"plan": "pro", "seats": 3, "nested": {"a": [1, 2.5, None, True]}},
    traits={"country": "DE"},
    context={"ip": "1.2.3.4"},
    group_id=None,
    previous_id=None,
)
USAGE_MINIMAL = UsageEventRecorded(
    event_id=uuid.UUID(int=1),
    project="acme",
    received_at=RECEIVED,
    type="identify",
    distinct_id="a1",
    timestamp=RECEIVED,
)
SESSION = SessionUpdated(
    event_id=uuid.UUID(int=2),
    project="acme",
    received_at=RECEIVED,
    session_id="s-1",
    distinct_id="u1",
    init=True,
    started=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
    timestamp=datetime(2026, 3, 1, 11, 5, tzinfo=UTC),
    status="crashed",
    errors=2,
    duration_s=300.5,
    release="app@1.2.3",
    environment="staging",
)
AGGREGATE = SessionsAggregated(
    event_id=uuid.UUID(int=3),
    project="acme",
    received_at=RECEIVED,
    started=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
    release="app@1.2.3",
    exited=10,
    errored=2,
    crashed=1,
    abnormal=0,
)
FEEDBACK = FeedbackResponded(
    event_id=uuid.UUID(int=4),
    project="acme",
    received_at=RECEIVED,
    message_id="fb-1",
    distinct_id="u1",
    user_id="u1",
    kind="nps",
    score=9,
    comment="Great, but slow → sometimes",
    feature="export",
    release="app@1.2.3",
    channel="in_app",
    survey="q1",
    properties={"k": "v"},
    timestamp=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
)
DELETED = UserDeleted(event_id=uuid.UUID(int=5), project="acme", received_at=RECEIVED, distinct_id="u1")
DEAD = DeadLetter(
    origin="metrics.daily_events",
    code="undecodable",
    reason="bad bytes",
    failed_at=RECEIVED,
    project=None,
    source_topic=topics.USAGE,
    source_partition=3,
    source_offset=42,
    payload=b"\x00\xffnot json",
)

ALL_EVENTS: dict[str, msgspec.Struct] = {
    "usage": USAGE,
    "usage-minimal": USAGE_MINIMAL,
    "session-updated": SESSION,
    "sessions-aggregated": AGGREGATE,
    "feedback": FEEDBACK,
    "user-deleted": DELETED,
}

ACCEPTED: dict[str, set[str]] = {
    topics.USAGE: {"usage", "usage-minimal", "user-deleted"},
    topics.SESSIONS: {"session-updated", "sessions-aggregated", "user-deleted"},
    topics.FEEDBACK: {"feedback", "user-deleted"},
    topics.DEADLETTER: set(),
}

ROUND_TRIPS = [
    pytest.param(topic, ALL_EVENTS[name], id=f"{topic}-{name}")
    for topic, names in ACCEPTED.items()
    for name in sorted(names)
]
WRONG_TOPIC = [
    pytest.param(topic, ALL_EVENTS[name], id=f"{topic}-{name}")
    for topic, names in ACCEPTED.items()
    for name in sorted(set(ALL_EVENTS) - names)
]


@pytest.mark.parametrize(("topic", "event"), ROUND_TRIPS)
def test_round_trip_on_its_topic(topic: str, event: msgspec.Struct) -> None:
    decoded = topic_decoder(topic)(encode(event))
    assert type(decoded) is type(event)
    assert decoded == event


def test_dead_letter_round_trip() -> None:
    decoded = topic_decoder(topics.DEADLETTER)(encode(DEAD))
    assert decoded == DEAD
    assert decoded.payload == b"\x00\xffnot json"


@pytest.mark.parametrize(("topic", "event"), WRONG_TOPIC)
def test_event_of_another_stream_is_undecodable(topic: str, event: msgspec.Struct) -> None:
    with pytest.raises(UndecodableMessage):
        topic_decoder(topic)(encode(event))


@pytest.mark.parametrize(
    ("event", "tag"),
    [
        (USAGE, "usage"),
        (SESSION, "session_update"),
        (AGGREGATE, "session_aggregate"),
        (FEEDBACK, "feedback_response"),
        (DELETED, "user_deleted"),
    ],
)
def test_encoding_is_json_tagged_by_event_type(event: msgspec.Struct, tag: str) -> None:
    document = json.loads(encode(event))
    assert document["event_type"] == tag
    assert document["schema_version"] == 1
    assert document["project"] == "acme"


def test_encoding_of_times_and_ids() -> None:
    document = json.loads(encode(USAGE))
    assert document["event_id"] == "be4563be-3711-5803-b0be-de904fd56d98"
    assert document["received_at"] == "2026-03-01T12:00:00.123456Z"
    assert document["timestamp"] == "2026-03-01T11:00:00Z"


TOPICS = [topics.USAGE, topics.SESSIONS, topics.FEEDBACK, topics.DEADLETTER]


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\xff\xfe garbage", id="garbage"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"usage"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"event_type": "nonsense"}', id="unknown-tag"),
        pytest.param(b'{"hello": "world"}', id="unrelated-object"),
    ],
)
def test_garbage_and_wrong_json_are_undecodable(topic: str, payload: bytes) -> None:
    with pytest.raises(UndecodableMessage):
        topic_decoder(topic)(payload)


def _without(event: msgspec.Struct, field: str) -> bytes:
    document = json.loads(encode(event))
    del document[field]
    return json.dumps(document).encode()


def _with(event: msgspec.Struct, **changes: Any) -> bytes:
    return json.dumps({**json.loads(encode(event)), **changes}).encode()


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        pytest.param(topics.USAGE, _without(USAGE, "distinct_id"), id="usage-no-distinct-id"),
        pytest.param(topics.USAGE, _without(USAGE, "event_id"), id="usage-no-event-id"),
        pytest.param(topics.USAGE, _without(USAGE, "project"), id="usage-no-project"),
        pytest.param(topics.USAGE, _without(USAGE, "timestamp"), id="usage-no-timestamp"),
        pytest.param(topics.USAGE, _without(USAGE, "type"), id="usage-no-type"),
        pytest.param(topics.USAGE, _without(USAGE, "event_type"), id="usage-no-tag"),
        pytest.param(topics.USAGE, _without(DELETED, "distinct_id"), id="deleted-no-distinct-id"),
        pytest.param(topics.SESSIONS, _without(SESSION, "release"), id="session-no-release"),
        pytest.param(topics.SESSIONS, _without(SESSION, "status"), id="session-no-status"),
        pytest.param(topics.SESSIONS, _without(AGGREGATE, "started"), id="aggregate-no-started"),
        pytest.param(topics.FEEDBACK, _without(FEEDBACK, "score"), id="feedback-no-score"),
        pytest.param(topics.FEEDBACK, _without(FEEDBACK, "kind"), id="feedback-no-kind"),
        pytest.param(topics.DEADLETTER, _without(DEAD, "reason"), id="deadletter-no-reason"),
    ],
)
def test_missing_required_field_is_undecodable(topic: str, payload: bytes) -> None:
    with pytest.raises(UndecodableMessage):
        topic_decoder(topic)(payload)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        pytest.param(topics.USAGE, _with(USAGE, type="purchase"), id="usage-unknown-type"),
        pytest.param(topics.USAGE, _with(USAGE, event_id="not-a-uuid"), id="usage-bad-uuid"),
        pytest.param(topics.USAGE, _with(USAGE, timestamp="yesterday"), id="usage-bad-timestamp"),
        pytest.param(topics.USAGE, _with(USAGE, properties=[1]), id="usage-properties-list"),
        pytest.param(topics.SESSIONS, _with(SESSION, status="errored"), id="session-status-errored"),
        pytest.param(topics.SESSIONS, _with(AGGREGATE, crashed="one"), id="aggregate-count-string"),
        pytest.param(topics.FEEDBACK, _with(FEEDBACK, kind="ces5"), id="feedback-unknown-kind"),
        pytest.param(topics.FEEDBACK, _with(FEEDBACK, score=9.5), id="feedback-float-score"),
    ],
)
def test_wrong_field_values_are_undecodable(topic: str, payload: bytes) -> None:
    with pytest.raises(UndecodableMessage):
        topic_decoder(topic)(payload)


def test_undecodable_chains_the_msgspec_error() -> None:
    with pytest.raises(UndecodableMessage) as caught:
        topic_decoder(topics.USAGE)(_without(USAGE, "distinct_id"))
    assert isinstance(caught.value.__cause__, msgspec.ValidationError)
    assert "distinct_id" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    decoded = topic_decoder(topics.USAGE)(_with(USAGE, added_in_v2="x"))
    assert decoded == USAGE


@pytest.mark.parametrize("topic", ["pulse.usage.v2", "usage", "", "pulse.unknown.v1"])
def test_unknown_topic_raises_value_error(topic: str) -> None:
    with pytest.raises(ValueError, match="no event stream") as caught:
        topic_decoder(topic)
    assert repr(topic) in str(caught.value)


def test_every_topic_spec_has_a_decoder() -> None:
    for spec in topics.TOPIC_SPECS:
        assert callable(topic_decoder(spec.name))
    assert set(codec.STREAM_TYPES) == {spec.name for spec in topics.TOPIC_SPECS}


def test_decoder_for_a_union() -> None:
    decode: Callable[[bytes], UsageStreamEvent] = decoder_for(UsageStreamEvent)
    assert decode(encode(DELETED)) == DELETED
    with pytest.raises(UndecodableMessage):
        decode(encode(SESSION))
