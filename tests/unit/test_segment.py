"""build_usage_event: one Segment message in, a UsageEventRecorded or a Rejection out."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from pulse_common import codec, topics
from pulse_common.events import UsageEventRecorded
from pulse_common.identity import event_id_for
from pulse_ingest.event_time import TimeRules
from pulse_ingest.segment import Rejection, RequestContext, as_utc, build_usage_event, time_rules
from pulse_ingest.usage_record import UsageRecord

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
RULES = TimeRules(drift_threshold=timedelta(seconds=60), max_future=timedelta(days=1), horizon=timedelta(days=30))


def _request(
    *,
    project: str = "acme",
    sent_at: datetime | None = None,
    context: dict[str, Any] | None = None,
    max_event_bytes: int = 32 * 1024,
) -> RequestContext:
    return RequestContext(
        project=project,
        received_at=RECEIVED,
        sent_at=sent_at,
        context=context,
        rules=RULES,
        max_event_bytes=max_event_bytes,
    )


def _raw(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def _accepted(message: dict[str, Any], request: RequestContext | None = None) -> UsageEventRecorded:
    """The event as consumers will read it from the topic."""
    outcome = build_usage_event(0, _raw(message), request or _request())
    assert isinstance(outcome, UsageRecord), outcome
    event = codec.topic_decoder(topics.USAGE)(codec.encode(outcome))
    assert isinstance(event, UsageEventRecorded)
    return event


def _rejected(message: dict[str, Any] | bytes, request: RequestContext | None = None, index: int = 0) -> Rejection:
    raw = message if isinstance(message, bytes) else _raw(message)
    outcome = build_usage_event(index, raw, request or _request())
    assert isinstance(outcome, Rejection), outcome
    return outcome


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            {"type": "track", "event": "Signed Up", "userId": "u1", "properties": {"plan": "pro"}},
            {"type": "track", "name": "Signed Up", "properties": {"plan": "pro"}, "traits": {}},
            id="track",
        ),
        pytest.param(
            {"type": "track", "event": "  Signed Up  ", "userId": "u1"},
            {"type": "track", "name": "Signed Up"},
            id="track-name-stripped",
        ),
        pytest.param(
            {"type": "page", "name": "   ", "userId": "u1"},
            {"type": "page", "name": None},
            id="page-blank-name-is-none",
        ),
        pytest.param(
            {"type": "page", "name": "Home", "userId": "u1", "properties": {"path": "/"}},
            {"type": "page", "name": "Home", "properties": {"path": "/"}},
            id="page",
        ),
        pytest.param({"type": "page", "userId": "u1"}, {"type": "page", "name": None}, id="page-without-name"),
        pytest.param(
            {"type": "screen", "name": "Settings", "userId": "u1"},
            {"type": "screen", "name": "Settings"},
            id="screen",
        ),
        pytest.param(
            {"type": "identify", "userId": "u1", "traits": {"plan": "pro", "country": "DE"}},
            {"type": "identify", "name": None, "traits": {"plan": "pro", "country": "DE"}, "properties": {}},
            id="identify",
        ),
        pytest.param(
            {"type": "alias", "userId": "u1", "previousId": "anon-1"},
            {"type": "alias", "name": None, "previous_id": "anon-1", "group_id": None},
            id="alias",
        ),
        pytest.param(
            {"type": "alias", "userId": "u1", "previousId": 17},
            {"type": "alias", "previous_id": "17"},
            id="alias-int-previous-id",
        ),
        pytest.param(
            {"type": "group", "userId": "u1", "groupId": "org-9", "traits": {"name": "Initech"}},
            {"type": "group", "name": None, "group_id": "org-9", "traits": {"name": "Initech"}, "previous_id": None},
            id="group",
        ),
        pytest.param(
            {"type": "group", "userId": "u1", "groupId": 42},
            {"type": "group", "group_id": "42"},
            id="group-int-group-id",
        ),
        pytest.param(
            {"type": "track", "event": "x", "userId": "u1", "integrations": {"All": False}, "unknownField": 1},
            {"type": "track", "name": "x"},
            id="unknown-fields-ignored",
        ),
    ],
)
def test_valid_calls(message: dict[str, Any], expected: dict[str, Any]) -> None:
    message = {**message, "messageId": "m-1"}
    event = _accepted(message)
    assert event.project == "acme"
    assert event.received_at == RECEIVED
    assert event.message_id == "m-1"
    assert event.distinct_id == "u1"
    assert event.user_id == "u1"
    assert event.event_id == event_id_for("acme", "m-1")
    # No client timestamp: the event time is the arrival time and there is no original.
    assert event.timestamp == RECEIVED
    assert event.original_timestamp is None
    assert event.sent_at is None
    for field, value in expected.items():
        assert getattr(event, field) == value, field


@pytest.mark.parametrize(
    ("user_id", "anonymous_id", "expected"),
    [
        pytest.param("u1", None, ("u1", None, "u1"), id="user-only"),
        pytest.param(None, "a1", (None, "a1", "a1"), id="null-user-with-anonymous"),
        pytest.param("u1", "a1", ("u1", "a1", "u1"), id="both-user-wins"),
        pytest.param(42, None, ("42", None, "42"), id="int-user-id"),
        pytest.param(0, None, ("0", None, "0"), id="int-zero-user-id"),
        pytest.param(None, 7, (None, "7", "7"), id="int-anonymous-id"),
        pytest.param("", "a1", (None, "a1", "a1"), id="empty-user-id-falls-back"),
        pytest.param("   ", "a1", (None, "a1", "a1"), id="blank-user-id-falls-back"),
        pytest.param("  u1 ", None, ("u1", None, "u1"), id="user-id-stripped"),
    ],
)
def test_identity(
    user_id: str | int | None, anonymous_id: str | int | None, expected: tuple[str | None, str | None, str]
) -> None:
    event = _accepted({"type": "track", "event": "x", "userId": user_id, "anonymousId": anonymous_id})
    assert (event.user_id, event.anonymous_id, event.distinct_id) == expected


def test_user_id_as_int_is_a_string() -> None:
    event = _accepted({"type": "track", "event": "x", "userId": 1234567890123})
    assert event.user_id == "1234567890123"
    assert isinstance(event.user_id, str)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        pytest.param({"type": "track", "event": "x"}, "missing_identity", id="no-ids"),
        pytest.param(
            {"type": "track", "event": "x", "userId": None, "anonymousId": None}, "missing_identity", id="nulls"
        ),
        pytest.param({"type": "page", "userId": "", "anonymousId": "  "}, "missing_identity", id="blanks"),
        pytest.param({"type": "identify", "traits": {"a": 1}}, "missing_identity", id="identify-no-ids"),
        pytest.param({"type": "track", "userId": "u1"}, "missing_event", id="track-no-event"),
        pytest.param({"type": "track", "userId": "u1", "event": None}, "missing_event", id="track-null-event"),
        pytest.param({"type": "track", "userId": "u1", "event": ""}, "missing_event", id="track-empty-event"),
        pytest.param({"type": "track", "userId": "u1", "event": "   "}, "missing_event", id="track-blank-event"),
        pytest.param({"type": "alias", "userId": "u1"}, "missing_previous_id", id="alias-no-previous"),
        pytest.param({"type": "alias", "userId": "u1", "previousId": " "}, "missing_previous_id", id="alias-blank"),
        pytest.param({"type": "group", "userId": "u1"}, "missing_group_id", id="group-no-group"),
        pytest.param({"type": "group", "userId": "u1", "groupId": ""}, "missing_group_id", id="group-empty"),
    ],
)
def test_semantic_rejections(message: dict[str, Any], code: str) -> None:
    rejection = _rejected({**message, "messageId": "m-7"}, index=7)
    assert (rejection.index, rejection.message_id, rejection.code) == (7, "m-7", code)
    assert rejection.message


@pytest.mark.parametrize(
    ("message", "path"),
    [
        pytest.param({"type": "track", "event": "x", "userId": "u1", "properties": 5}, "$.properties", id="properties"),
        pytest.param({"type": "identify", "userId": "u1", "traits": "pro"}, "$.traits", id="traits"),
        pytest.param({"type": "track", "event": "x", "userId": "u1", "context": []}, "$.context", id="context"),
        pytest.param({"type": "track", "event": "x", "userId": True}, "$.userId", id="user-id-bool"),
        pytest.param({"type": "track", "event": "x", "userId": {"id": 1}}, "$.userId", id="user-id-object"),
        pytest.param({"type": "track", "event": 5, "userId": "u1"}, "$.event", id="event-int"),
        pytest.param({"type": "track", "event": "x", "userId": "u1", "timestamp": "yesterday"}, "$.timestamp", id="ts"),
        pytest.param({"type": "purchase", "event": "x", "userId": "u1"}, "$.type", id="unknown-type"),
        pytest.param({"type": 3, "userId": "u1"}, "$.type", id="type-int"),
    ],
)
def test_wrong_types_are_invalid_events_naming_the_field(message: dict[str, Any], path: str) -> None:
    rejection = _rejected({**message, "messageId": "m-3"}, index=3)
    assert (rejection.index, rejection.message_id, rejection.code) == (3, "m-3", "invalid_event")
    assert f"`{path}`" in rejection.message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"event": "x", "userId": "u1", "messageId": "m-1"}', id="missing-type"),
        pytest.param(b'[{"type": "track"}]', id="array"),
        pytest.param(b'"track"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b'{"type": "track",', id="truncated"),
        pytest.param(b"\xff\xfe", id="garbage"),
        pytest.param(b"", id="empty"),
    ],
)
def test_malformed_messages_are_invalid_events(raw: bytes) -> None:
    rejection = _rejected(raw, index=2)
    assert (rejection.index, rejection.code) == (2, "invalid_event")


def test_missing_type_reports_the_message_id() -> None:
    rejection = _rejected(b'{"event": "x", "userId": "u1", "messageId": "m-1"}')
    assert rejection.message_id == "m-1"
    assert "type" in rejection.message


@pytest.mark.parametrize(
    "message_id",
    [pytest.param(5, id="int"), pytest.param(["m"], id="list")],
)
def test_non_string_message_id_is_invalid_and_not_reported(message_id: object) -> None:
    rejection = _rejected({"type": "track", "event": "x", "userId": "u1", "messageId": message_id})
    assert (rejection.code, rejection.message_id) == ("invalid_event", None)
    assert "`$.messageId`" in rejection.message


def test_event_over_the_size_limit_is_rejected_with_its_message_id() -> None:
    raw = _raw({"type": "track", "event": "x", "userId": "u1", "messageId": "m-big", "properties": {"b": "x" * 300}})
    rejection = _rejected(raw, _request(max_event_bytes=200), index=4)
    assert (rejection.index, rejection.message_id, rejection.code) == (4, "m-big", "event_too_large")
    assert str(len(raw)) in rejection.message
    assert "200" in rejection.message


def test_oversized_garbage_is_rejected_without_message_id() -> None:
    rejection = _rejected(b"x" * 201, _request(max_event_bytes=200))
    assert (rejection.message_id, rejection.code) == (None, "event_too_large")


@pytest.mark.parametrize(
    ("slack", "accepted"),
    [pytest.param(0, True, id="exactly-at-limit"), pytest.param(-1, False, id="one-byte-over")],
)
def test_size_limit_boundary(slack: int, accepted: bool) -> None:
    raw = _raw({"type": "track", "event": "x", "userId": "u1", "messageId": "m-1"})
    outcome = build_usage_event(0, raw, _request(max_event_bytes=len(raw) + slack))
    assert isinstance(outcome, UsageRecord) is accepted
    if not accepted:
        assert isinstance(outcome, Rejection)
        assert outcome.code == "event_too_large"


@pytest.mark.parametrize(
    ("batch_context", "event_context", "expected"),
    [
        pytest.param(None, None, {}, id="neither"),
        pytest.param({"ip": "1.2.3.4"}, None, {"ip": "1.2.3.4"}, id="batch-only"),
        pytest.param(None, {"locale": "de-DE"}, {"locale": "de-DE"}, id="event-only"),
        pytest.param(
            {"ip": "1.2.3.4", "library": {"name": "analytics-python"}, "locale": "en-US"},
            {"ip": "5.6.7.8", "page": {"path": "/pricing"}},
            {"ip": "5.6.7.8", "library": {"name": "analytics-python"}, "locale": "en-US", "page": {"path": "/pricing"}},
            id="merged-event-wins",
        ),
        pytest.param(
            {"library": {"name": "analytics-python", "version": "2.0"}},
            {"library": {"name": "analytics.js"}},
            {"library": {"name": "analytics.js"}},
            id="event-key-replaces-whole-value",
        ),
    ],
)
def test_context_merge(
    batch_context: dict[str, Any] | None, event_context: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    message: dict[str, Any] = {"type": "track", "event": "x", "userId": "u1"}
    if event_context is not None:
        message["context"] = event_context
    event = _accepted(message, _request(context=batch_context))
    assert event.context == expected


def test_context_merge_does_not_mutate_the_batch_context() -> None:
    batch_context = {"ip": "1.2.3.4"}
    _accepted(
        {"type": "track", "event": "x", "userId": "u1", "context": {"ip": "9.9.9.9"}}, _request(context=batch_context)
    )
    assert batch_context == {"ip": "1.2.3.4"}


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        pytest.param("2026-03-01T10:00:00", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), id="no-offset-is-utc"),
        pytest.param("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, 0, tzinfo=UTC), id="z"),
        pytest.param("2026-03-01T10:00:00+02:00", datetime(2026, 3, 1, 8, 0, tzinfo=UTC), id="plus-2"),
        pytest.param(
            "2026-03-01T10:00:00.123-05:00", datetime(2026, 3, 1, 15, 0, 0, 123000, tzinfo=UTC), id="minus-5-millis"
        ),
        pytest.param("2026-02-28T23:30:00-01:00", datetime(2026, 3, 1, 0, 30, tzinfo=UTC), id="crosses-midnight"),
    ],
)
def test_timestamps_are_taken_as_utc(timestamp: str, expected: datetime) -> None:
    event = _accepted({"type": "track", "event": "x", "userId": "u1", "timestamp": timestamp})
    assert event.timestamp == expected
    assert event.timestamp.utcoffset() == timedelta(0)
    assert event.original_timestamp == expected
    assert event.original_timestamp is not None
    assert event.original_timestamp.utcoffset() == timedelta(0)


def test_large_clock_drift_is_corrected_and_both_times_kept() -> None:
    sent_at = RECEIVED + timedelta(hours=1)
    event = _accepted(
        {"type": "track", "event": "x", "userId": "u1", "timestamp": "2026-03-01T12:30:00Z"},
        _request(sent_at=sent_at),
    )
    assert event.timestamp == datetime(2026, 3, 1, 11, 30, tzinfo=UTC)
    assert event.original_timestamp == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert event.sent_at == sent_at


def test_small_clock_drift_is_kept() -> None:
    sent_at = RECEIVED - timedelta(seconds=2)
    event = _accepted(
        {"type": "track", "event": "x", "userId": "u1", "timestamp": "2026-03-01T11:59:57Z"},
        _request(sent_at=sent_at),
    )
    assert event.timestamp == datetime(2026, 3, 1, 11, 59, 57, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        pytest.param("2026-01-01T00:00:00Z", "timestamp_too_old", id="too-old"),
        pytest.param("2026-03-03T00:00:00Z", "timestamp_in_future", id="future"),
    ],
)
def test_event_time_rejections(timestamp: str, code: str) -> None:
    rejection = _rejected(
        {"type": "track", "event": "x", "userId": "u1", "timestamp": timestamp, "messageId": "m-9"}, index=9
    )
    assert (rejection.index, rejection.message_id, rejection.code) == (9, "m-9", code)


def test_event_id_is_deterministic_per_project_and_message_id() -> None:
    message = {"type": "track", "event": "x", "userId": "u1", "messageId": "m-1"}
    first = _accepted(message, _request(project="acme"))
    again = _accepted(message, _request(project="acme"))
    other_project = _accepted(message, _request(project="globex"))
    assert first.event_id == again.event_id
    assert first.event_id.version == 5
    assert first.event_id != other_project.event_id
    assert first.event_id == event_id_for("acme", "m-1")
    assert other_project.event_id == event_id_for("globex", "m-1")


def test_event_id_differs_between_message_ids() -> None:
    a = _accepted({"type": "track", "event": "x", "userId": "u1", "messageId": "m-1"})
    b = _accepted({"type": "track", "event": "x", "userId": "u1", "messageId": "m-2"})
    assert a.event_id != b.event_id


def test_events_without_message_id_get_fresh_ids() -> None:
    message = {"type": "track", "event": "x", "userId": "u1"}
    a, b = _accepted(message), _accepted(message)
    assert a.message_id is None
    assert a.event_id != b.event_id
    assert a.event_id.version == 4


def test_rejection_index_and_message_id_without_message_id() -> None:
    rejection = _rejected({"type": "track", "userId": "u1"}, index=11)
    assert (rejection.index, rejection.message_id, rejection.code) == (11, None, "missing_event")


def test_as_utc_of_none() -> None:
    assert as_utc(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime(2026, 3, 1, 10, 0), datetime(2026, 3, 1, 10, 0), id="naive-is-utc"),
        pytest.param(
            datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 3, 1, 8, 0),
            id="plus-2-converted",
        ),
        pytest.param(
            datetime(2026, 3, 1, 22, 0, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 3, 2, 3, 0),
            id="minus-5-next-day",
        ),
        pytest.param(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), datetime(2026, 3, 1, 10, 0), id="utc"),
    ],
)
def test_as_utc(value: datetime, expected: datetime) -> None:
    """``expected`` is the UTC wall clock."""
    result = as_utc(value)
    assert result is not None
    assert result.tzinfo is UTC
    assert result.replace(tzinfo=None) == expected


def test_time_rules() -> None:
    assert time_rules(60, 86_400, 30) == TimeRules(
        drift_threshold=timedelta(seconds=60), max_future=timedelta(days=1), horizon=timedelta(days=30)
    )
    assert time_rules(0.5, 0, 5) == TimeRules(
        drift_threshold=timedelta(milliseconds=500), max_future=timedelta(0), horizon=timedelta(days=5)
    )


def test_accepted_event_has_a_uuid() -> None:
    event = _accepted({"type": "screen", "anonymousId": "a1"})
    assert isinstance(event.event_id, uuid.UUID)
    assert (event.type, event.name, event.distinct_id, event.user_id) == ("screen", None, "a1", None)
