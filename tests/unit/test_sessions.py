"""Release-health sessions (product.md §5): session updates and aggregates in, events or rejections out."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse_common.events import SessionsAggregated, SessionUpdated
from pulse_ingest.rejections import Rejection
from pulse_ingest.segment import time_rules
from pulse_ingest.sessions import (
    AggregateWire,
    SentryAggregateBucket,
    SentrySessionsItem,
    SessionAttrs,
    SessionContext,
    aggregate_from,
    aggregates_of_sentry_item,
    build_aggregate,
    build_session_update,
)

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
RULES = time_rules(60, 86400, 5)
_DROP = object()  # a field left out of the JSON


def _ctx(*, project: str = "acme", sent_at: datetime | None = None, received_at: datetime = RECEIVED) -> SessionContext:
    return SessionContext(project=project, received_at=received_at, sent_at=sent_at, rules=RULES)


def _raw(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def _update(**overrides: Any) -> dict[str, Any]:
    update: dict[str, Any] = {
        "sid": "s-1",
        "did": "user-1",
        "init": True,
        "started": "2026-03-01T11:00:00Z",
        "timestamp": "2026-03-01T11:30:00Z",
        "status": "ok",
        "errors": 0,
        "duration": 1800.5,
        "attrs": {"release": "app@1.2.3", "environment": "staging"},
    }
    update.update(overrides)
    return {key: value for key, value in update.items() if value is not _DROP}


def _accepted(update: dict[str, Any], ctx: SessionContext | None = None) -> SessionUpdated:
    outcome = build_session_update(0, _raw(update), ctx or _ctx())
    assert isinstance(outcome, SessionUpdated), outcome
    return outcome


def _rejected(raw: bytes, ctx: SessionContext | None = None, index: int = 0) -> Rejection:
    outcome = build_session_update(index, raw, ctx or _ctx())
    assert isinstance(outcome, Rejection), outcome
    return outcome


# --- session updates -------------------------------------------------------------------------------------------------


def test_full_update_is_mapped_field_by_field() -> None:
    event = _accepted(_update())
    assert event.project == "acme"
    assert event.received_at == RECEIVED
    assert event.session_id == "s-1"
    assert event.distinct_id == "user-1"
    assert event.init is True
    assert event.started == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert event.timestamp == datetime(2026, 3, 1, 11, 30, tzinfo=UTC)
    assert event.status == "ok"
    assert event.errors == 0
    assert event.duration_s == 1800.5
    assert event.release == "app@1.2.3"
    assert event.environment == "staging"
    assert event.event_id.version == 5


@pytest.mark.parametrize(
    ("did", "expected"),
    [
        pytest.param("user-1", "user-1", id="string"),
        pytest.param("  user-1  ", "user-1", id="string-stripped"),
        pytest.param(42, "42", id="int-becomes-str"),
        pytest.param(0, "0", id="int-zero"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param(None, None, id="null"),
        pytest.param(_DROP, None, id="absent"),
    ],
)
def test_distinct_id(did: object, expected: str | None) -> None:
    assert _accepted(_update(did=did)).distinct_id == expected


@pytest.mark.parametrize(
    ("attrs", "expected_release", "expected_environment"),
    [
        pytest.param({"release": "1.0", "environment": "staging"}, "1.0", "staging", id="both"),
        pytest.param({"release": "  1.0  ", "environment": "  qa "}, "1.0", "qa", id="both-stripped"),
        pytest.param({"release": "1.0"}, "1.0", "production", id="default-environment"),
        pytest.param({"release": "1.0", "environment": None}, "1.0", "production", id="null-environment"),
        pytest.param({"release": "1.0", "environment": "  "}, "1.0", "production", id="blank-environment"),
    ],
)
def test_release_and_environment(attrs: dict[str, Any], expected_release: str, expected_environment: str) -> None:
    event = _accepted(_update(attrs=attrs))
    assert (event.release, event.environment) == (expected_release, expected_environment)


@pytest.mark.parametrize(
    ("status", "errors"),
    [("ok", 0), ("ok", 3), ("exited", 0), ("crashed", 1), ("abnormal", 0)],
)
def test_every_status_is_accepted(status: str, errors: int) -> None:
    event = _accepted(_update(status=status, errors=errors))
    assert (event.status, event.errors) == (status, errors)


def test_defaults_of_a_minimal_update() -> None:
    event = _accepted({"sid": "s-9", "started": "2026-03-01T11:00:00Z", "attrs": {"release": "r"}})
    assert event.session_id == "s-9"
    assert event.distinct_id is None
    assert event.init is False
    assert event.status == "ok"
    assert event.errors == 0
    assert event.duration_s is None
    assert event.environment == "production"
    # No timestamp: the update is dated at its start.
    assert event.timestamp == event.started == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "attrs",
    [
        pytest.param(_DROP, id="no-attrs"),
        pytest.param(None, id="null-attrs"),
        pytest.param({}, id="attrs-without-release"),
        pytest.param({"release": None, "environment": "production"}, id="null-release"),
        pytest.param({"release": ""}, id="empty-release"),
        pytest.param({"release": "   "}, id="blank-release"),
    ],
)
def test_missing_release_is_rejected(attrs: object) -> None:
    raw = _raw(_update(attrs=attrs))
    rejection = _rejected(raw, index=4)
    assert rejection == Rejection(4, "s-1", "missing_release", "attrs.release is required", raw)


@pytest.mark.parametrize(
    ("update", "path"),
    [
        pytest.param(_update(status="errored"), "$.status", id="status-errored"),
        pytest.param(_update(status="OK"), "$.status", id="status-case"),
        pytest.param(_update(status=""), "$.status", id="status-empty"),
        pytest.param(_update(errors=-1), "$.errors", id="negative-errors"),
        pytest.param(_update(errors=1.5), "$.errors", id="float-errors"),
        pytest.param(_update(duration=-0.5), "$.duration", id="negative-duration"),
        pytest.param(_update(sid=""), "$.sid", id="empty-sid"),
        pytest.param(_update(started="yesterday"), "$.started", id="bad-started"),
        pytest.param(_update(started=_DROP), "`started`", id="no-started"),
        pytest.param(_update(timestamp="later"), "$.timestamp", id="bad-timestamp"),
        pytest.param(_update(attrs={"release": 5}), "$.attrs.release", id="release-not-string"),
    ],
)
def test_invalid_updates_name_the_field(update: dict[str, Any], path: str) -> None:
    raw = _raw(update)
    rejection = _rejected(raw, index=2)
    assert rejection.index == 2
    assert rejection.code == "invalid_session"
    assert path in rejection.message
    assert rejection.message_id == update.get("sid")
    assert rejection.payload == raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'{"started":"2026-03-01T11:00:00Z","attrs":{"release":"r"}}', id="no-sid"),
    ],
)
def test_undecodable_updates(raw: bytes) -> None:
    rejection = _rejected(raw)
    assert (rejection.code, rejection.message_id, rejection.payload) == ("invalid_session", None, raw)


def test_status_rejection_message() -> None:
    rejection = _rejected(_raw(_update(status="errored")))
    assert rejection.message == "Invalid enum value 'errored' - at `$.status`"


def test_naive_times_are_utc_and_offsets_are_converted() -> None:
    event = _accepted(_update(started="2026-03-01T11:00:00", timestamp="2026-03-01T12:30:00+01:00"))
    assert event.started == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert event.timestamp == datetime(2026, 3, 1, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent_at", "shift"),
    [
        pytest.param(None, timedelta(0), id="no-sent-at"),
        pytest.param(RECEIVED, timedelta(0), id="no-drift"),
        pytest.param(RECEIVED + timedelta(seconds=59), timedelta(0), id="59s-ahead-kept"),
        pytest.param(RECEIVED - timedelta(seconds=59), timedelta(0), id="59s-behind-kept"),
        pytest.param(RECEIVED + timedelta(seconds=60), timedelta(seconds=-60), id="60s-ahead-corrected"),
        pytest.param(RECEIVED - timedelta(seconds=60), timedelta(seconds=60), id="60s-behind-corrected"),
        pytest.param(RECEIVED + timedelta(hours=2), timedelta(hours=-2), id="2h-ahead-corrected"),
        pytest.param(RECEIVED - timedelta(hours=3), timedelta(hours=3), id="3h-behind-corrected"),
    ],
)
def test_drift_correction_shifts_started_and_timestamp(sent_at: datetime | None, shift: timedelta) -> None:
    event = _accepted(_update(), _ctx(sent_at=sent_at))
    assert event.started == datetime(2026, 3, 1, 11, 0, tzinfo=UTC) + shift
    assert event.timestamp == datetime(2026, 3, 1, 11, 30, tzinfo=UTC) + shift


def test_drift_correction_without_timestamp() -> None:
    event = _accepted(_update(timestamp=_DROP), _ctx(sent_at=RECEIVED + timedelta(hours=1)))
    assert event.started == event.timestamp == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("update", "sent_at", "code"),
    [
        pytest.param(
            _update(started="2026-02-24T11:00:00Z", timestamp="2026-02-24T11:59:59Z"),
            None,
            "timestamp_too_old",
            id="timestamp-5d-and-1s-old",
        ),
        pytest.param(
            _update(started="2026-02-20T11:00:00Z", timestamp=_DROP),
            None,
            "timestamp_too_old",
            id="no-timestamp-started-too-old",
        ),
        pytest.param(
            _update(started="2026-03-01T11:00:00Z", timestamp="2026-03-02T12:00:01Z"),
            None,
            "timestamp_in_future",
            id="timestamp-1d-and-1s-ahead",
        ),
        pytest.param(
            # The client clock is 2 h ahead: its 4 d 23 h old timestamp is really 5 d 1 h old.
            _update(started="2026-02-24T12:00:00Z", timestamp="2026-02-24T13:00:00Z"),
            RECEIVED + timedelta(hours=2),
            "timestamp_too_old",
            id="too-old-after-correction",
        ),
    ],
)
def test_out_of_range_times_are_rejected(update: dict[str, Any], sent_at: datetime | None, code: str) -> None:
    raw = _raw(update)
    rejection = _rejected(raw, _ctx(sent_at=sent_at))
    assert (rejection.code, rejection.message_id, rejection.payload) == (code, "s-1", raw)


def test_too_old_message_names_the_5_day_horizon() -> None:
    rejection = _rejected(_raw(_update(started="2026-02-20T11:00:00Z", timestamp="2026-02-20T11:00:00Z")))
    assert rejection.message == ("timestamp 2026-02-20T11:00:00+00:00 is older than the accepted horizon of 5 days")


def test_exactly_5_days_old_is_accepted() -> None:
    event = _accepted(_update(started="2026-02-24T11:00:00Z", timestamp="2026-02-24T12:00:00Z"))
    assert event.timestamp == RECEIVED - timedelta(days=5)


def test_same_update_built_twice_has_the_same_id() -> None:
    raw = _raw(_update())
    first = build_session_update(0, raw, _ctx())
    second = build_session_update(7, raw, _ctx())
    assert isinstance(first, SessionUpdated)
    assert isinstance(second, SessionUpdated)
    assert first.event_id == second.event_id
    assert first == second


def test_retried_update_of_a_drifting_client_keeps_its_id() -> None:
    # A client whose clock is 2 h ahead retries the same update 30 s later; the network takes 40 ms the first time
    # and 25 ms the second. The update (same session, same state) must keep its id.
    raw = _raw(_update(timestamp="2026-03-01T13:30:00Z", started="2026-03-01T13:00:00Z"))
    sent_first = datetime(2026, 3, 1, 14, 0, 0, tzinfo=UTC)
    sent_retry = sent_first + timedelta(seconds=30)
    first = _accepted_raw(raw, _ctx(sent_at=sent_first, received_at=RECEIVED + timedelta(milliseconds=40)))
    retry = _accepted_raw(raw, _ctx(sent_at=sent_retry, received_at=RECEIVED + timedelta(seconds=30, milliseconds=25)))
    assert first.event_id == retry.event_id


def _accepted_raw(raw: bytes, ctx: SessionContext) -> SessionUpdated:
    outcome = build_session_update(0, raw, ctx)
    assert isinstance(outcome, SessionUpdated), outcome
    return outcome


def test_ids_do_not_depend_on_received_at_without_drift() -> None:
    first = _accepted(_update(), _ctx(received_at=RECEIVED))
    later = _accepted(_update(), _ctx(received_at=RECEIVED + timedelta(minutes=10)))
    assert first.event_id == later.event_id


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"status": "exited"}, id="status"),
        pytest.param({"status": "crashed"}, id="status-crashed"),
        pytest.param({"timestamp": "2026-03-01T11:30:01Z"}, id="timestamp"),
        pytest.param({"errors": 1}, id="errors"),
        pytest.param({"init": False}, id="init"),
        pytest.param({"sid": "s-2"}, id="session"),
    ],
)
def test_a_different_state_gives_a_different_id(changed: dict[str, Any]) -> None:
    assert _accepted(_update()).event_id != _accepted(_update(**changed)).event_id


@pytest.mark.parametrize(
    "unchanged",
    [
        pytest.param({"duration": 99.0}, id="duration"),
        pytest.param({"did": "someone-else"}, id="did"),
        pytest.param({"timestamp": "2026-03-01T12:30:00+01:00"}, id="same-instant-other-offset"),
    ],
)
def test_fields_outside_the_state_keep_the_id(unchanged: dict[str, Any]) -> None:
    assert _accepted(_update()).event_id == _accepted(_update(**unchanged)).event_id


def test_two_projects_give_different_ids() -> None:
    raw = _raw(_update())
    acme = build_session_update(0, raw, _ctx(project="acme"))
    globex = build_session_update(0, raw, _ctx(project="globex"))
    assert isinstance(acme, SessionUpdated)
    assert isinstance(globex, SessionUpdated)
    assert acme.event_id != globex.event_id
    assert (acme.project, globex.project) == ("acme", "globex")


# --- aggregates ------------------------------------------------------------------------------------------------------


def _aggregate(**overrides: Any) -> dict[str, Any]:
    aggregate: dict[str, Any] = {
        "started": "2026-03-01T11:07:42.123456Z",
        "attrs": {"release": "app@1.2.3", "environment": "staging"},
        "exited": 10,
        "errored": 2,
        "crashed": 1,
        "abnormal": 3,
    }
    aggregate.update(overrides)
    return {key: value for key, value in aggregate.items() if value is not _DROP}


def _accepted_aggregate(aggregate: dict[str, Any], ctx: SessionContext | None = None) -> SessionsAggregated:
    outcome = build_aggregate(0, _raw(aggregate), ctx or _ctx())
    assert isinstance(outcome, SessionsAggregated), outcome
    return outcome


def test_aggregate_is_mapped_and_truncated_to_the_minute() -> None:
    event = _accepted_aggregate(_aggregate())
    assert event.project == "acme"
    assert event.received_at == RECEIVED
    assert event.started == datetime(2026, 3, 1, 11, 7, tzinfo=UTC)
    assert (event.release, event.environment) == ("app@1.2.3", "staging")
    assert (event.exited, event.errored, event.crashed, event.abnormal) == (10, 2, 1, 3)


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        pytest.param("2026-03-01T11:07:00Z", datetime(2026, 3, 1, 11, 7, tzinfo=UTC), id="on-the-minute"),
        pytest.param("2026-03-01T11:07:59.999999Z", datetime(2026, 3, 1, 11, 7, tzinfo=UTC), id="end-of-minute"),
        pytest.param("2026-03-01T12:37:30+01:30", datetime(2026, 3, 1, 11, 7, tzinfo=UTC), id="offset"),
        pytest.param("2026-03-01T11:07:30", datetime(2026, 3, 1, 11, 7, tzinfo=UTC), id="naive-is-utc"),
    ],
)
def test_aggregate_started_minute(started: str, expected: datetime) -> None:
    assert _accepted_aggregate(_aggregate(started=started)).started == expected


def test_aggregate_defaults() -> None:
    event = _accepted_aggregate({"started": "2026-03-01T11:07:00Z", "attrs": {"release": "r"}})
    assert (event.exited, event.errored, event.crashed, event.abnormal) == (0, 0, 0, 0)
    assert event.environment == "production"


def test_aggregate_drift_correction_applies_before_truncation() -> None:
    # Clock 90 s ahead: 11:07:42 is really 11:06:12.
    event = _accepted_aggregate(_aggregate(), _ctx(sent_at=RECEIVED + timedelta(seconds=90)))
    assert event.started == datetime(2026, 3, 1, 11, 6, tzinfo=UTC)


def test_identical_aggregates_without_message_id_are_distinct() -> None:
    first = _accepted_aggregate(_aggregate())
    second = _accepted_aggregate(_aggregate())
    assert first.event_id != second.event_id
    assert first.event_id.version == second.event_id.version == 4


def test_identical_aggregates_with_the_same_message_id_share_an_id() -> None:
    first = _accepted_aggregate(_aggregate(messageId="agg-1"))
    second = _accepted_aggregate(_aggregate(messageId="agg-1"))
    assert first.event_id == second.event_id
    assert first.event_id.version == 5


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(("acme", "agg-1"), ("acme", "agg-2"), id="other-message-id"),
        pytest.param(("acme", "agg-1"), ("globex", "agg-1"), id="other-project"),
    ],
)
def test_aggregate_ids_differ(a: tuple[str, str], b: tuple[str, str]) -> None:
    first = _accepted_aggregate(_aggregate(messageId=a[1]), _ctx(project=a[0]))
    second = _accepted_aggregate(_aggregate(messageId=b[1]), _ctx(project=b[0]))
    assert first.event_id != second.event_id


@pytest.mark.parametrize(
    ("aggregate", "code", "message_id"),
    [
        pytest.param(_aggregate(attrs=_DROP), "missing_release", None, id="no-attrs"),
        pytest.param(_aggregate(attrs={"release": " "}, messageId="m-1"), "missing_release", "m-1", id="blank"),
        pytest.param(_aggregate(crashed=-1, messageId="m-2"), "invalid_aggregate", "m-2", id="negative-count"),
        pytest.param(_aggregate(exited="3"), "invalid_aggregate", None, id="string-count"),
        pytest.param(_aggregate(started=_DROP), "invalid_aggregate", None, id="no-started"),
        pytest.param(
            _aggregate(started="2026-02-20T11:00:00Z", messageId="m-3"), "timestamp_too_old", "m-3", id="too-old"
        ),
        pytest.param(_aggregate(started="2026-03-03T11:00:00Z"), "timestamp_in_future", None, id="future"),
    ],
)
def test_rejected_aggregates_carry_the_raw_payload(
    aggregate: dict[str, Any], code: str, message_id: str | None
) -> None:
    raw = _raw(aggregate)
    outcome = build_aggregate(3, raw, _ctx())
    assert isinstance(outcome, Rejection), outcome
    assert (outcome.index, outcome.code, outcome.message_id, outcome.payload) == (3, code, message_id, raw)


def test_aggregate_from_wire_without_release() -> None:
    wire = AggregateWire(started=datetime(2026, 3, 1, 11, 0, tzinfo=UTC), attrs=SessionAttrs(environment="qa"))
    assert aggregate_from(1, wire, _ctx()) == Rejection(1, None, "missing_release", "attrs.release is required")


# --- Sentry "sessions" items -----------------------------------------------------------------------------------------


def test_sentry_item_buckets_become_aggregates_sharing_the_attrs() -> None:
    attrs = SessionAttrs(release="app@2.0", environment="prod-eu")
    item = SentrySessionsItem(
        aggregates=[
            SentryAggregateBucket(started=datetime(2026, 3, 1, 11, 0, tzinfo=UTC), did="u-1", exited=4, errored=1),
            SentryAggregateBucket(started=datetime(2026, 3, 1, 11, 1, tzinfo=UTC), crashed=2, abnormal=5),
        ],
        attrs=attrs,
    )
    assert aggregates_of_sentry_item(item) == [
        AggregateWire(started=datetime(2026, 3, 1, 11, 0, tzinfo=UTC), attrs=attrs, exited=4, errored=1, did="u-1"),
        AggregateWire(started=datetime(2026, 3, 1, 11, 1, tzinfo=UTC), attrs=attrs, crashed=2, abnormal=5),
    ]


def test_sentry_item_without_buckets() -> None:
    assert aggregates_of_sentry_item(SentrySessionsItem(aggregates=[])) == []


def test_sentry_item_aggregates_build_events() -> None:
    item = SentrySessionsItem(
        aggregates=[SentryAggregateBucket(started=datetime(2026, 3, 1, 11, 0, 30, tzinfo=UTC), exited=4)],
        attrs=SessionAttrs(release="app@2.0"),
    )
    [wire] = aggregates_of_sentry_item(item)
    event = aggregate_from(0, wire, _ctx())
    assert isinstance(event, SessionsAggregated)
    assert (event.started, event.release, event.environment, event.exited) == (
        datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        "app@2.0",
        "production",
        4,
    )
    assert isinstance(event.event_id, uuid.UUID)


def test_sentry_item_without_attrs_is_missing_its_release() -> None:
    item = SentrySessionsItem(aggregates=[SentryAggregateBucket(started=datetime(2026, 3, 1, 11, 0, tzinfo=UTC))])
    [wire] = aggregates_of_sentry_item(item)
    outcome = aggregate_from(5, wire, _ctx())
    assert isinstance(outcome, Rejection)
    assert (outcome.index, outcome.code) == (5, "missing_release")
