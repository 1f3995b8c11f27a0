"""activity_changes: active (track/page/screen) events per (project, local day, user) and each user's day span (§4)."""

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest

from pulse_common.events import UsageEventRecorded, UsageStreamEvent, UsageType, UserDeleted
from pulse_metrics.projections.activity import activity_changes

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")
ARRIVAL = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)

BASE = UsageEventRecorded(
    event_id=uuid.UUID("be4563be-3711-5803-b0be-de904fd56d98"),
    project="acme",
    received_at=ARRIVAL,
    type="track",
    name="Signed Up",
    user_id="u1",
    distinct_id="u1",
    timestamp=datetime(2026, 11, 1, 16, 0, tzinfo=UTC),
)


def _utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _event(
    when: datetime, *, type_: UsageType = "track", user: str = "u1", project: str = "acme"
) -> UsageEventRecorded:
    name = None if type_ in {"identify", "group", "alias"} else "Signed Up"
    return msgspec.structs.replace(
        BASE,
        event_id=uuid.uuid4(),
        project=project,
        type=type_,
        name=name,
        user_id=user,
        distinct_id=user,
        timestamp=when,
    )


def _deleted(user: str, project: str = "acme") -> UserDeleted:
    return UserDeleted(event_id=uuid.uuid4(), project=project, received_at=ARRIVAL, distinct_id=user)


ZONES = {"acme": NEW_YORK}


@pytest.mark.parametrize(
    ("type_", "counted"),
    [
        pytest.param("track", True, id="track"),
        pytest.param("page", True, id="page"),
        pytest.param("screen", True, id="screen"),
        pytest.param("identify", False, id="identify"),
        pytest.param("group", False, id="group"),
        pytest.param("alias", False, id="alias"),
    ],
)
def test_only_track_page_screen_are_active(type_: UsageType, counted: bool) -> None:
    # 2026-11-01T16:00Z is 2026-11-01 11:00 EST in New York.
    changes = activity_changes([_event(_utc(11, 1, 16), type_=type_)], ZONES)
    if counted:
        assert dict(changes.user_days) == {("acme", date(2026, 11, 1), "u1"): 1}
        assert changes.user_spans == {("acme", "u1"): (date(2026, 11, 1), date(2026, 11, 1))}
    else:
        assert dict(changes.user_days) == {}
        assert changes.user_spans == {}


def test_user_deleted_is_ignored() -> None:
    events: list[UsageStreamEvent] = [_deleted("u1"), _event(_utc(11, 1, 16)), _deleted("u1")]
    changes = activity_changes(events, ZONES)
    assert dict(changes.user_days) == {("acme", date(2026, 11, 1), "u1"): 1}
    assert changes.user_spans == {("acme", "u1"): (date(2026, 11, 1), date(2026, 11, 1))}


def test_only_ignored_events_give_nothing() -> None:
    events: list[UsageStreamEvent] = [
        _deleted("u1"),
        _event(_utc(11, 1, 16), type_="identify"),
        _event(_utc(11, 1, 16), type_="group"),
        _event(_utc(11, 1, 16), type_="alias"),
    ]
    changes = activity_changes(events, ZONES)
    assert not changes.user_days
    assert changes.user_spans == {}


def test_no_events() -> None:
    changes = activity_changes([], ZONES)
    assert not changes.user_days
    assert changes.user_spans == {}


@pytest.mark.parametrize(
    ("zone", "when", "local_day"),
    [
        # New York: EDT (UTC-4) until 2026-11-01T06:00Z, then EST (UTC-5); 2026-11-01 lasts 25 h,
        # from 2026-11-01T04:00Z to 2026-11-02T05:00Z.
        pytest.param(NEW_YORK, _utc(10, 31, 12), date(2026, 10, 31), id="ny-oct31-08:00-edt"),
        pytest.param(NEW_YORK, _utc(11, 1, 3, 30), date(2026, 10, 31), id="ny-0330z-is-oct31-2330-edt"),
        pytest.param(NEW_YORK, _utc(11, 1, 3, 59), date(2026, 10, 31), id="ny-0359z-is-oct31-2359-edt"),
        pytest.param(NEW_YORK, _utc(11, 1, 4, 0), date(2026, 11, 1), id="ny-0400z-is-nov1-0000-edt"),
        pytest.param(NEW_YORK, _utc(11, 1, 4, 30), date(2026, 11, 1), id="ny-0430z-is-nov1-0030-edt"),
        pytest.param(NEW_YORK, _utc(11, 1, 5, 30), date(2026, 11, 1), id="ny-0530z-is-nov1-0130-edt"),
        pytest.param(NEW_YORK, _utc(11, 1, 6, 30), date(2026, 11, 1), id="ny-0630z-is-nov1-0130-est-repeated"),
        pytest.param(NEW_YORK, _utc(11, 2, 4, 30), date(2026, 11, 1), id="ny-nov2-0430z-is-nov1-2330-est"),
        pytest.param(NEW_YORK, _utc(11, 2, 4, 59), date(2026, 11, 1), id="ny-nov2-0459z-is-nov1-2359-est"),
        pytest.param(NEW_YORK, _utc(11, 2, 5, 0), date(2026, 11, 2), id="ny-nov2-0500z-is-nov2-0000-est"),
        # New York spring forward: 2026-03-08 lasts 23 h, from 2026-03-08T05:00Z to 2026-03-09T04:00Z.
        pytest.param(NEW_YORK, _utc(3, 8, 4, 59), date(2026, 3, 7), id="ny-mar8-0459z-is-mar7-2359-est"),
        pytest.param(NEW_YORK, _utc(3, 9, 3, 30), date(2026, 3, 8), id="ny-mar9-0330z-is-mar8-2330-edt"),
        pytest.param(NEW_YORK, _utc(3, 9, 4, 0), date(2026, 3, 9), id="ny-mar9-0400z-is-mar9-0000-edt"),
        # Berlin: CET (UTC+1) in winter, CEST (UTC+2) in summer.
        pytest.param(BERLIN, _utc(1, 14, 23, 30), date(2026, 1, 15), id="berlin-winter-0030-cet"),
        pytest.param(BERLIN, _utc(7, 14, 22, 30), date(2026, 7, 15), id="berlin-summer-0030-cest"),
        pytest.param(BERLIN, _utc(7, 14, 21, 59), date(2026, 7, 14), id="berlin-summer-2359-cest"),
        # Year boundary in UTC vs local.
        pytest.param(NEW_YORK, _utc(1, 1, 3, 0, year=2027), date(2026, 12, 31), id="ny-new-year-utc-is-old-year"),
        pytest.param(UTC_ZONE, _utc(1, 1, 0, 0, year=2027), date(2027, 1, 1), id="utc-new-year"),
        pytest.param(UTC_ZONE, _utc(12, 31, 23, 59), date(2026, 12, 31), id="utc-old-year"),
    ],
)
def test_local_day_in_project_zone(zone: ZoneInfo, when: datetime, local_day: date) -> None:
    changes = activity_changes([_event(when)], {"acme": zone})
    assert dict(changes.user_days) == {("acme", local_day, "u1"): 1}
    assert changes.user_spans == {("acme", "u1"): (local_day, local_day)}


def test_twenty_five_hour_day_holds_all_its_hours() -> None:
    # All four instants are on 2026-11-01 in New York (00:30 EDT, 01:30 EDT, 01:30 EST, 23:30 EST).
    events = [_event(_utc(11, 1, 4, 30)), _event(_utc(11, 1, 5, 30)), _event(_utc(11, 1, 6, 30))]
    events.append(_event(_utc(11, 2, 4, 30), type_="page"))
    changes = activity_changes(events, ZONES)
    assert dict(changes.user_days) == {("acme", date(2026, 11, 1), "u1"): 4}
    assert changes.user_spans == {("acme", "u1"): (date(2026, 11, 1), date(2026, 11, 1))}


def test_same_instant_different_local_days_in_different_projects() -> None:
    # 2026-11-01T03:30Z: 2026-10-31 23:30 in New York, 2026-11-01 04:30 in Berlin.
    when = _utc(11, 1, 3, 30)
    events = [_event(when, project="acme"), _event(when, project="globex")]
    changes = activity_changes(events, {"acme": NEW_YORK, "globex": BERLIN})
    assert dict(changes.user_days) == {
        ("acme", date(2026, 10, 31), "u1"): 1,
        ("globex", date(2026, 11, 1), "u1"): 1,
    }
    assert changes.user_spans == {
        ("acme", "u1"): (date(2026, 10, 31), date(2026, 10, 31)),
        ("globex", "u1"): (date(2026, 11, 1), date(2026, 11, 1)),
    }


def test_project_without_zone_is_ignored() -> None:
    events = [
        _event(_utc(11, 1, 16), project="acme"),
        _event(_utc(11, 1, 16), project="unknown"),
        _event(_utc(11, 2, 16), project="unknown", user="u2"),
    ]
    changes = activity_changes(events, ZONES)
    assert dict(changes.user_days) == {("acme", date(2026, 11, 1), "u1"): 1}
    assert changes.user_spans == {("acme", "u1"): (date(2026, 11, 1), date(2026, 11, 1))}


def test_no_zones_ignores_everything() -> None:
    changes = activity_changes([_event(_utc(11, 1, 16))], {})
    assert not changes.user_days
    assert changes.user_spans == {}


def test_user_days_count_events_per_project_day_and_user() -> None:
    # New York local days: 11-01 16:00Z -> Nov 1 11:00 EST; 11-02 03:00Z -> Nov 1 22:00 EST;
    # 11-02 16:00Z -> Nov 2 11:00 EST; 11-01 03:30Z -> Oct 31 23:30 EDT.
    events: list[UsageStreamEvent] = [
        _event(_utc(11, 1, 16), user="u1"),
        _event(_utc(11, 2, 3), user="u1", type_="screen"),
        _event(_utc(11, 2, 16), user="u1", type_="page"),
        _event(_utc(11, 1, 3, 30), user="u1"),
        _event(_utc(11, 1, 16), user="u2"),
        _event(_utc(11, 1, 16), user="u2", type_="identify"),
        _deleted("u2"),
        _event(_utc(11, 1, 17), user="u2"),
        _event(_utc(11, 1, 16), user="u3", type_="alias"),
        _event(_utc(11, 1, 16), user="u1", project="globex"),
    ]
    changes = activity_changes(events, {"acme": NEW_YORK, "globex": UTC_ZONE})
    assert dict(changes.user_days) == {
        ("acme", date(2026, 10, 31), "u1"): 1,
        ("acme", date(2026, 11, 1), "u1"): 2,
        ("acme", date(2026, 11, 2), "u1"): 1,
        ("acme", date(2026, 11, 1), "u2"): 2,
        ("globex", date(2026, 11, 1), "u1"): 1,
    }
    assert changes.user_spans == {
        ("acme", "u1"): (date(2026, 10, 31), date(2026, 11, 2)),
        ("acme", "u2"): (date(2026, 11, 1), date(2026, 11, 1)),
        ("globex", "u1"): (date(2026, 11, 1), date(2026, 11, 1)),
    }


@pytest.mark.parametrize(
    ("instants", "span"),
    [
        pytest.param([_utc(11, 5, 16)], (date(2026, 11, 5), date(2026, 11, 5)), id="single"),
        pytest.param(
            [_utc(11, 5, 16), _utc(11, 7, 16), _utc(11, 6, 16)],
            (date(2026, 11, 5), date(2026, 11, 7)),
            id="in-order-then-middle",
        ),
        pytest.param(
            [_utc(11, 5, 16), _utc(11, 7, 16), _utc(11, 2, 16)],
            (date(2026, 11, 2), date(2026, 11, 7)),
            id="late-older-event-moves-first-day-back",
        ),
        pytest.param(
            [_utc(11, 7, 16), _utc(11, 5, 16)],
            (date(2026, 11, 5), date(2026, 11, 7)),
            id="descending",
        ),
        pytest.param(
            # 11-06 04:30Z is Nov 5 23:30 EST; 11-01 03:30Z arriving late is Oct 31 23:30 EDT.
            [_utc(11, 6, 4, 30), _utc(11, 1, 3, 30)],
            (date(2026, 10, 31), date(2026, 11, 5)),
            id="late-event-local-days-not-utc-days",
        ),
        pytest.param(
            [_utc(11, 5, 16), _utc(12, 31, 16), _utc(1, 1, 3, year=2027)],
            (date(2026, 11, 5), date(2026, 12, 31)),
            id="utc-new-year-still-old-year-locally",
        ),
    ],
)
def test_user_span_is_min_and_max_local_day(instants: list[datetime], span: tuple[date, date]) -> None:
    changes = activity_changes([_event(when) for when in instants], ZONES)
    assert changes.user_spans == {("acme", "u1"): span}
    assert sum(changes.user_days.values()) == len(instants)


def test_spans_ignore_non_active_events() -> None:
    # identify/group/alias on other days must not widen the span; a deletion must not reset it.
    events: list[UsageStreamEvent] = [
        _event(_utc(11, 5, 16)),
        _event(_utc(11, 1, 16), type_="identify"),
        _event(_utc(11, 9, 16), type_="group"),
        _event(_utc(11, 10, 16), type_="alias"),
        _deleted("u1"),
        _event(_utc(11, 6, 16), type_="screen"),
    ]
    changes = activity_changes(events, ZONES)
    assert changes.user_spans == {("acme", "u1"): (date(2026, 11, 5), date(2026, 11, 6))}
    assert dict(changes.user_days) == {
        ("acme", date(2026, 11, 5), "u1"): 1,
        ("acme", date(2026, 11, 6), "u1"): 1,
    }


def test_same_user_in_two_projects_kept_apart() -> None:
    events = [
        _event(_utc(11, 5, 16), project="acme"),
        _event(_utc(11, 9, 16), project="globex"),
        _event(_utc(11, 3, 16), project="globex"),
        _event(_utc(11, 5, 17), project="acme"),
    ]
    changes = activity_changes(events, {"acme": NEW_YORK, "globex": NEW_YORK})
    assert dict(changes.user_days) == {
        ("acme", date(2026, 11, 5), "u1"): 2,
        ("globex", date(2026, 11, 3), "u1"): 1,
        ("globex", date(2026, 11, 9), "u1"): 1,
    }
    assert changes.user_spans == {
        ("acme", "u1"): (date(2026, 11, 5), date(2026, 11, 5)),
        ("globex", "u1"): (date(2026, 11, 3), date(2026, 11, 9)),
    }


def test_user_key_is_distinct_id_not_user_id() -> None:
    anonymous = msgspec.structs.replace(
        _event(_utc(11, 5, 16)), user_id=None, anonymous_id="anon-1", distinct_id="anon-1"
    )
    changes = activity_changes([anonymous, _event(_utc(11, 5, 17))], ZONES)
    assert dict(changes.user_days) == {
        ("acme", date(2026, 11, 5), "anon-1"): 1,
        ("acme", date(2026, 11, 5), "u1"): 1,
    }
    assert set(changes.user_spans) == {("acme", "anon-1"), ("acme", "u1")}
