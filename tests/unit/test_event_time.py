"""resolve_event_time (product.md §2): clock-drift correction, the future limit and the horizon."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_ingest.event_time import EventTime, EventTimeRejected, RequestClock, TimeRules, resolve_event_time

RULES = TimeRules(drift_threshold=timedelta(seconds=60), max_future=timedelta(days=1), horizon=timedelta(days=30))
RECEIVED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CLIENT = datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC)


def test_without_client_timestamp_the_event_time_is_the_arrival_time() -> None:
    assert resolve_event_time(None, None, RECEIVED, RULES) == EventTime(RECEIVED, None)


def test_without_client_timestamp_sent_at_is_irrelevant() -> None:
    sent_at = RECEIVED + timedelta(hours=3)
    assert resolve_event_time(None, sent_at, RECEIVED, RULES) == EventTime(RECEIVED, None)


@pytest.mark.parametrize(
    ("sent_at", "expected"),
    [
        # No sentAt: nothing to measure the drift with, the client timestamp is kept as is.
        pytest.param(None, CLIENT, id="no-sent-at"),
        # Small drifts are network delay and are not corrected.
        pytest.param(RECEIVED, CLIENT, id="zero-drift"),
        pytest.param(RECEIVED + timedelta(seconds=59), CLIENT, id="drift-+59s-kept"),
        pytest.param(RECEIVED - timedelta(seconds=59), CLIENT, id="drift--59s-kept"),
        pytest.param(RECEIVED + timedelta(seconds=59, microseconds=999_999), CLIENT, id="drift-just-below-kept"),
        # At the threshold and above: timestamp - (sentAt - receivedAt).
        pytest.param(RECEIVED + timedelta(seconds=60), CLIENT - timedelta(seconds=60), id="drift-+60s-corrected"),
        pytest.param(RECEIVED - timedelta(seconds=60), CLIENT + timedelta(seconds=60), id="drift--60s-corrected"),
        pytest.param(RECEIVED + timedelta(seconds=61), CLIENT - timedelta(seconds=61), id="drift-+61s-corrected"),
        pytest.param(RECEIVED + timedelta(hours=1), datetime(2026, 3, 1, 10, 0, tzinfo=UTC), id="clock-1h-ahead"),
        pytest.param(RECEIVED - timedelta(hours=2), datetime(2026, 3, 1, 13, 0, tzinfo=UTC), id="clock-2h-behind"),
    ],
)
def test_drift_correction(sent_at: datetime | None, expected: datetime) -> None:
    result = resolve_event_time(CLIENT, sent_at, RECEIVED, RULES)
    assert result.timestamp == expected
    assert result.original == CLIENT


@pytest.mark.parametrize(
    ("client_timestamp", "sent_at", "expected"),
    [
        # A client clock two days ahead: the raw timestamp is "in the future", the corrected one is not.
        pytest.param(
            datetime(2026, 3, 3, 11, 0, tzinfo=UTC),
            datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
            datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
            id="clock-2d-ahead",
        ),
        # A client clock two days behind: the raw timestamp is 31 days old, the corrected one 29 days.
        pytest.param(
            datetime(2026, 1, 29, 12, 0, tzinfo=UTC),
            datetime(2026, 2, 27, 12, 0, tzinfo=UTC),
            datetime(2026, 1, 31, 12, 0, tzinfo=UTC),
            id="clock-2d-behind",
        ),
    ],
)
def test_limits_apply_to_the_corrected_time(client_timestamp: datetime, sent_at: datetime, expected: datetime) -> None:
    assert resolve_event_time(client_timestamp, sent_at, RECEIVED, RULES) == EventTime(expected, client_timestamp)


@pytest.mark.parametrize(
    ("client_timestamp", "code"),
    [
        pytest.param(RECEIVED + timedelta(days=1, seconds=1), "timestamp_in_future", id="1d+1s-ahead"),
        pytest.param(RECEIVED + timedelta(days=1, microseconds=1), "timestamp_in_future", id="1d+1us-ahead"),
        pytest.param(RECEIVED + timedelta(days=400), "timestamp_in_future", id="400d-ahead"),
        pytest.param(RECEIVED - timedelta(days=30, seconds=1), "timestamp_too_old", id="30d+1s-old"),
        pytest.param(datetime(2000, 1, 1, tzinfo=UTC), "timestamp_too_old", id="year-2000"),
    ],
)
def test_out_of_range_timestamps_are_rejected(client_timestamp: datetime, code: str) -> None:
    with pytest.raises(EventTimeRejected) as caught:
        resolve_event_time(client_timestamp, None, RECEIVED, RULES)
    assert caught.value.code == code
    assert client_timestamp.isoformat() in str(caught.value)


def test_future_rejection_with_drift_correction() -> None:
    # sentAt 2 h behind: the corrected time is 2 h later than the client's, which pushes it past the limit.
    client_timestamp = RECEIVED + timedelta(hours=23)
    with pytest.raises(EventTimeRejected) as caught:
        resolve_event_time(client_timestamp, RECEIVED - timedelta(hours=2), RECEIVED, RULES)
    assert caught.value.code == "timestamp_in_future"


def test_rejection_messages_name_the_limits() -> None:
    with pytest.raises(EventTimeRejected) as too_old:
        resolve_event_time(RECEIVED - timedelta(days=31), None, RECEIVED, RULES)
    assert "30 days" in str(too_old.value)
    with pytest.raises(EventTimeRejected) as future:
        resolve_event_time(RECEIVED + timedelta(days=2), None, RECEIVED, RULES)
    assert "1 day" in str(future.value)


def test_rejection_is_a_value_error() -> None:
    assert issubclass(EventTimeRejected, ValueError)


@pytest.mark.parametrize(
    "client_timestamp",
    [
        pytest.param(RECEIVED + timedelta(days=1), id="exactly-1d-ahead"),
        pytest.param(RECEIVED - timedelta(days=30), id="exactly-30d-old"),
        pytest.param(RECEIVED, id="now"),
    ],
)
def test_limits_are_inclusive(client_timestamp: datetime) -> None:
    assert resolve_event_time(client_timestamp, None, RECEIVED, RULES) == EventTime(client_timestamp, client_timestamp)


@pytest.mark.parametrize(
    ("threshold", "sent_at", "expected"),
    [
        # The threshold is a setting: with 5 minutes, a 2-minute drift is kept and a 5-minute one corrected.
        pytest.param(timedelta(minutes=5), RECEIVED + timedelta(minutes=2), CLIENT, id="5m-threshold-2m-drift"),
        pytest.param(
            timedelta(minutes=5),
            RECEIVED + timedelta(minutes=5),
            CLIENT - timedelta(minutes=5),
            id="5m-threshold-5m-drift",
        ),
    ],
)
def test_threshold_comes_from_the_rules(threshold: timedelta, sent_at: datetime, expected: datetime) -> None:
    rules = TimeRules(drift_threshold=threshold, max_future=timedelta(days=1), horizon=timedelta(days=30))
    assert resolve_event_time(CLIENT, sent_at, RECEIVED, rules).timestamp == expected


@pytest.mark.parametrize(
    ("client_timestamp", "sent_at", "code"),
    [
        # The client's clock is a year behind; its event at the end of time would move past year 9999.
        (datetime(9999, 12, 31, 23, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC), "timestamp_in_future"),
        # A year ahead; an event at the start of time would move before year 1.
        (datetime(1, 1, 1, 1, tzinfo=UTC), datetime(2027, 12, 1, tzinfo=UTC), "timestamp_too_old"),
    ],
)
def test_a_drift_correction_past_the_representable_dates_is_a_rejection(
    client_timestamp: datetime, sent_at: datetime, code: str
) -> None:
    # Found by schemathesis: the correction raised OverflowError, a 500 for the whole batch.
    with pytest.raises(EventTimeRejected) as rejected:
        resolve_event_time(client_timestamp, sent_at, datetime(2026, 12, 1, tzinfo=UTC), RULES)
    assert rejected.value.code == code


def _reference(client: datetime, sent_at: datetime | None, received: datetime, rules: TimeRules) -> datetime | str:
    """product.md §2 written out per event, as ingest first did: the oracle for the per-request clock."""
    drift = sent_at - received if sent_at is not None else timedelta(0)
    try:
        timestamp = client - drift if abs(drift) >= rules.drift_threshold else client
    except OverflowError:
        return "timestamp_in_future" if drift < timedelta(0) else "timestamp_too_old"
    if timestamp - received > rules.max_future:
        return "timestamp_in_future"
    if received - timestamp > rules.horizon:
        return "timestamp_too_old"
    return timestamp


moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4_000_000))


@settings(max_examples=500, deadline=None)
@given(
    client=moments | st.sampled_from([RECEIVED + timedelta(days=1), RECEIVED - timedelta(days=30)]),
    sent_at=st.none() | moments | st.just(RECEIVED + timedelta(minutes=1)),
    threshold=st.sampled_from([timedelta(0), timedelta(minutes=1), timedelta(days=1)]),
    max_future=spans,
    horizon=spans,
)
def test_the_request_clock_agrees_with_the_rules_written_per_event(
    client: datetime, sent_at: datetime | None, threshold: timedelta, max_future: timedelta, horizon: timedelta
) -> None:
    rules = TimeRules(drift_threshold=threshold, max_future=max_future, horizon=horizon)
    expected = _reference(client, sent_at, RECEIVED, rules)
    clock = RequestClock(sent_at, RECEIVED, rules)
    if isinstance(expected, str):
        with pytest.raises(EventTimeRejected) as rejected:
            clock.event_time(client)
        assert rejected.value.code == expected
    else:
        assert clock.event_time(client) == expected
