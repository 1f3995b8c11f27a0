"""count_daily_events / counted_name: events per (project, local day, event name)."""

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulse_common.events import UsageEventRecorded, UsageStreamEvent, UsageType, UserDeleted
from pulse_metrics.projections.daily_events import count_daily_events, counted_name

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
ARRIVAL = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _event(
    when: datetime,
    *,
    type_: UsageType = "track",
    name: str | None = "Signed Up",
    project: str = "acme",
    user: str = "u1",
    received_at: datetime = ARRIVAL,
) -> UsageEventRecorded:
    return UsageEventRecorded(
        event_id=uuid.uuid4(),
        project=project,
        received_at=received_at,
        type=type_,
        name=name,
        user_id=user,
        distinct_id=user,
        timestamp=when,
    )


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("type_", "name", "expected"),
    [
        ("track", "Signed Up", "Signed Up"),
        ("track", "$pageview", "$pageview"),
        ("page", "Home", "$page"),
        ("page", None, "$page"),
        ("screen", "Settings", "$screen"),
        ("screen", None, "$screen"),
        ("identify", None, None),
        ("group", None, None),
        ("alias", None, None),
    ],
)
def test_counted_name(type_: UsageType, name: str | None, expected: str | None) -> None:
    assert counted_name(_event(_utc("2026-03-01T12:00:00"), type_=type_, name=name)) == expected


@pytest.mark.parametrize(
    ("type_", "name", "expected"),
    [
        ("track", "Signed Up", Counter({("acme", date(2026, 3, 1), "Signed Up"): 1})),
        ("page", "Home", Counter({("acme", date(2026, 3, 1), "$page"): 1})),
        ("screen", "Settings", Counter({("acme", date(2026, 3, 1), "$screen"): 1})),
        ("identify", None, Counter()),
        ("group", None, Counter()),
        ("alias", None, Counter()),
    ],
)
def test_what_is_counted(type_: UsageType, name: str | None, expected: Counter[tuple[str, date, str]]) -> None:
    events = [_event(_utc("2026-03-01T12:00:00"), type_=type_, name=name)]
    assert count_daily_events(events, {"acme": UTC_ZONE}) == expected


def test_user_deleted_is_not_counted() -> None:
    deleted = UserDeleted(event_id=uuid.uuid4(), project="acme", received_at=ARRIVAL, distinct_id="u1")
    assert count_daily_events([deleted], {"acme": UTC_ZONE}) == Counter()


def test_projects_without_a_timezone_are_not_counted() -> None:
    events = [
        _event(_utc("2026-03-01T12:00:00"), project="acme"),
        _event(_utc("2026-03-01T12:00:00"), project="unknown"),
    ]
    assert count_daily_events(events, {"acme": UTC_ZONE}) == Counter({("acme", date(2026, 3, 1), "Signed Up"): 1})
    assert count_daily_events(events, {}) == Counter()


@pytest.mark.parametrize(
    ("zone", "instant", "local_day"),
    [
        # UTC: the UTC date.
        pytest.param(UTC_ZONE, "2026-03-01T00:00:00", date(2026, 3, 1), id="utc-midnight"),
        pytest.param(UTC_ZONE, "2026-02-28T23:59:59", date(2026, 2, 28), id="utc-before-midnight"),
        # Los Angeles, PST (UTC-8) before the 2026-03-08 switch.
        pytest.param(LOS_ANGELES, "2026-03-01T05:00:00", date(2026, 2, 28), id="la-21h-previous-day"),
        pytest.param(LOS_ANGELES, "2026-03-01T07:59:59", date(2026, 2, 28), id="la-23:59:59"),
        pytest.param(LOS_ANGELES, "2026-03-01T08:00:00", date(2026, 3, 1), id="la-local-midnight"),
        # Los Angeles, PDT (UTC-7) after the switch: local midnight is 07:00Z.
        pytest.param(LOS_ANGELES, "2026-03-10T07:00:00", date(2026, 3, 10), id="la-pdt-midnight"),
        pytest.param(LOS_ANGELES, "2026-03-10T06:59:59", date(2026, 3, 9), id="la-pdt-before-midnight"),
        # Berlin, 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00Z, a 23-hour day [03-28T23:00Z, 03-29T22:00Z).
        pytest.param(BERLIN, "2026-03-28T22:59:59", date(2026, 3, 28), id="berlin-spring-before-day"),
        pytest.param(BERLIN, "2026-03-28T23:00:00", date(2026, 3, 29), id="berlin-spring-day-start"),
        pytest.param(BERLIN, "2026-03-29T00:59:59", date(2026, 3, 29), id="berlin-spring-01:59:59-cet"),
        pytest.param(BERLIN, "2026-03-29T01:00:00", date(2026, 3, 29), id="berlin-spring-03:00-cest"),
        pytest.param(BERLIN, "2026-03-29T21:59:59", date(2026, 3, 29), id="berlin-spring-23:59:59-cest"),
        pytest.param(BERLIN, "2026-03-29T22:00:00", date(2026, 3, 30), id="berlin-spring-next-day-start"),
        # A fixed UTC+1 would put 22:30Z on Mar 29 (23:30); in CEST it is 00:30 on Mar 30.
        pytest.param(BERLIN, "2026-03-29T22:30:00", date(2026, 3, 30), id="berlin-spring-22:30z"),
        # Berlin, 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00Z, a 25-hour day [10-24T22:00Z, 10-25T23:00Z).
        pytest.param(BERLIN, "2026-10-24T21:59:59", date(2026, 10, 24), id="berlin-autumn-before-day"),
        pytest.param(BERLIN, "2026-10-24T22:00:00", date(2026, 10, 25), id="berlin-autumn-day-start"),
        pytest.param(BERLIN, "2026-10-25T00:30:00", date(2026, 10, 25), id="berlin-autumn-first-02:30"),
        pytest.param(BERLIN, "2026-10-25T01:30:00", date(2026, 10, 25), id="berlin-autumn-second-02:30"),
        # A fixed UTC+2 would put 22:30Z on Oct 26 (00:30); in CET it is 23:30 on Oct 25.
        pytest.param(BERLIN, "2026-10-25T22:30:00", date(2026, 10, 25), id="berlin-autumn-22:30z"),
        pytest.param(BERLIN, "2026-10-25T22:59:59", date(2026, 10, 25), id="berlin-autumn-23:59:59-cet"),
        pytest.param(BERLIN, "2026-10-25T23:00:00", date(2026, 10, 26), id="berlin-autumn-next-day-start"),
    ],
)
def test_local_day(zone: ZoneInfo, instant: str, local_day: date) -> None:
    counts = count_daily_events([_event(_utc(instant))], {"acme": zone})
    assert counts == Counter({("acme", local_day, "Signed Up"): 1})


@pytest.mark.parametrize(
    ("first_local_midnight_utc", "hours", "expected"),
    [
        # One event per UTC hour over three local days around each Berlin DST change.
        pytest.param(
            "2026-03-27T23:00:00",
            71,
            {date(2026, 3, 28): 24, date(2026, 3, 29): 23, date(2026, 3, 30): 24},
            id="spring-forward-23h",
        ),
        pytest.param(
            "2026-10-23T22:00:00",
            73,
            {date(2026, 10, 24): 24, date(2026, 10, 25): 25, date(2026, 10, 26): 24},
            id="fall-back-25h",
        ),
    ],
)
def test_berlin_dst_days_have_23_and_25_hours(
    first_local_midnight_utc: str, hours: int, expected: dict[date, int]
) -> None:
    start = _utc(first_local_midnight_utc)
    events = [_event(start + timedelta(hours=h), name="tick") for h in range(hours)]
    counts = count_daily_events(events, {"acme": BERLIN})
    assert counts == Counter({("acme", day, "tick"): n for day, n in expected.items()})


def test_late_event_lands_on_its_own_day() -> None:
    # Arrives on Nov 1 but happened on Oct 3 (Berlin): it is counted on Oct 3.
    late = _event(_utc("2026-10-03T10:00:00"), received_at=_utc("2026-11-01T09:00:00"))
    assert count_daily_events([late], {"acme": BERLIN}) == Counter({("acme", date(2026, 10, 3), "Signed Up"): 1})


def test_counts_aggregate_per_project_day_and_name() -> None:
    events: list[UsageStreamEvent] = [
        _event(_utc("2026-03-01T09:00:00"), name="Signed Up", user="u1"),
        _event(_utc("2026-03-01T10:00:00"), name="Signed Up", user="u2"),
        _event(_utc("2026-03-01T10:00:00"), name="Signed Up", user="u2"),
        _event(_utc("2026-03-01T11:00:00"), name="Exported"),
        _event(_utc("2026-03-01T11:00:00"), type_="page", name="Home"),
        _event(_utc("2026-03-01T11:30:00"), type_="page", name="Pricing"),
        _event(_utc("2026-03-01T12:00:00"), type_="screen", name="Settings"),
        _event(_utc("2026-03-01T12:00:00"), type_="identify", name=None),
        _event(_utc("2026-03-02T09:00:00"), name="Signed Up"),
        # 2026-03-02T03:00Z is still Mar 1 in Los Angeles (19:00 PST).
        _event(_utc("2026-03-02T03:00:00"), name="Signed Up", project="globex"),
        _event(_utc("2026-03-02T09:00:00"), name="Signed Up", project="globex"),
        _event(_utc("2026-03-02T09:00:00"), name="Signed Up", project="initech"),
        UserDeleted(event_id=uuid.uuid4(), project="acme", received_at=ARRIVAL, distinct_id="u1"),
    ]
    counts = count_daily_events(events, {"acme": UTC_ZONE, "globex": LOS_ANGELES})
    assert counts == Counter(
        {
            ("acme", date(2026, 3, 1), "Signed Up"): 3,
            ("acme", date(2026, 3, 1), "Exported"): 1,
            ("acme", date(2026, 3, 1), "$page"): 2,
            ("acme", date(2026, 3, 1), "$screen"): 1,
            ("acme", date(2026, 3, 2), "Signed Up"): 1,
            ("globex", date(2026, 3, 1), "Signed Up"): 1,
            ("globex", date(2026, 3, 2), "Signed Up"): 1,
        }
    )


def test_no_events_no_counts() -> None:
    assert count_daily_events([], {"acme": UTC_ZONE}) == Counter()


def test_input_is_consumed_once() -> None:
    # Any iterable works, including a one-shot generator.
    events = (_event(_utc(f"2026-03-0{d}T12:00:00")) for d in (1, 2, 2))
    assert count_daily_events(events, {"acme": UTC_ZONE}) == Counter(
        {("acme", date(2026, 3, 1), "Signed Up"): 1, ("acme", date(2026, 3, 2), "Signed Up"): 2}
    )
