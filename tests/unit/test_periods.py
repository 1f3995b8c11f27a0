"""Local days of a project's timezone and the UTC instants bounding them, DST included (product.md §3)."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pulse_common.periods import local_days_window, local_midnight, local_today

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        pytest.param(BERLIN, date(2026, 1, 15), _utc(2026, 1, 14, 23), id="berlin-winter"),
        pytest.param(BERLIN, date(2026, 7, 15), _utc(2026, 7, 14, 22), id="berlin-summer"),
        pytest.param(BERLIN, date(2026, 3, 28), _utc(2026, 3, 27, 23), id="berlin-day-before-spring-forward"),
        pytest.param(BERLIN, date(2026, 3, 29), _utc(2026, 3, 28, 23), id="berlin-spring-forward-day"),
        pytest.param(BERLIN, date(2026, 3, 30), _utc(2026, 3, 29, 22), id="berlin-day-after-spring-forward"),
        pytest.param(BERLIN, date(2026, 10, 25), _utc(2026, 10, 24, 22), id="berlin-fall-back-day"),
        pytest.param(BERLIN, date(2026, 10, 26), _utc(2026, 10, 25, 23), id="berlin-day-after-fall-back"),
        pytest.param(UTC_ZONE, date(2026, 3, 29), _utc(2026, 3, 29), id="utc"),
        pytest.param(UTC_ZONE, date(2024, 2, 29), _utc(2024, 2, 29), id="utc-leap-day"),
        # Chile moves its clocks at midnight: 2026-09-06 starts at 01:00 -03, the first instant of that local day.
        pytest.param(ZoneInfo("America/Santiago"), date(2026, 9, 6), _utc(2026, 9, 6, 4), id="santiago-midnight-gap"),
        pytest.param(ZoneInfo("Asia/Kolkata"), date(2026, 3, 29), _utc(2026, 3, 28, 18, 30), id="kolkata-half-hour"),
    ],
)
def test_local_midnight(zone: ZoneInfo, day: date, expected: datetime) -> None:
    midnight = local_midnight(day, zone)
    assert midnight == expected
    assert midnight.tzinfo is UTC


@pytest.mark.parametrize(
    ("zone", "first", "last", "start", "hours"),
    [
        pytest.param(BERLIN, date(2026, 3, 29), date(2026, 3, 29), _utc(2026, 3, 28, 23), 23, id="berlin-23h-day"),
        pytest.param(BERLIN, date(2026, 10, 25), date(2026, 10, 25), _utc(2026, 10, 24, 22), 25, id="berlin-25h-day"),
        pytest.param(BERLIN, date(2026, 3, 28), date(2026, 3, 28), _utc(2026, 3, 27, 23), 24, id="berlin-24h-before"),
        pytest.param(BERLIN, date(2026, 3, 30), date(2026, 3, 30), _utc(2026, 3, 29, 22), 24, id="berlin-24h-after"),
        pytest.param(
            BERLIN, date(2026, 3, 23), date(2026, 3, 29), _utc(2026, 3, 22, 23), 7 * 24 - 1, id="berlin-week-spring"
        ),
        pytest.param(
            BERLIN, date(2026, 10, 19), date(2026, 10, 25), _utc(2026, 10, 18, 22), 7 * 24 + 1, id="berlin-week-fall"
        ),
        pytest.param(
            BERLIN, date(2026, 1, 1), date(2026, 12, 31), _utc(2025, 12, 31, 23), 365 * 24, id="berlin-whole-year"
        ),
        pytest.param(
            BERLIN, date(2026, 3, 1), date(2026, 3, 31), _utc(2026, 2, 28, 23), 31 * 24 - 1, id="berlin-march"
        ),
        pytest.param(UTC_ZONE, date(2026, 3, 29), date(2026, 3, 29), _utc(2026, 3, 29), 24, id="utc-day"),
        pytest.param(UTC_ZONE, date(2026, 10, 25), date(2026, 10, 25), _utc(2026, 10, 25), 24, id="utc-no-dst"),
        pytest.param(UTC_ZONE, date(2026, 2, 1), date(2026, 2, 28), _utc(2026, 2, 1), 28 * 24, id="utc-february"),
        pytest.param(
            ZoneInfo("America/New_York"), date(2026, 3, 8), date(2026, 3, 8), _utc(2026, 3, 8, 5), 23, id="new-york-23h"
        ),
        pytest.param(
            ZoneInfo("America/New_York"), date(2026, 11, 1), date(2026, 11, 1), _utc(2026, 11, 1, 4), 25, id="ny-25h"
        ),
        pytest.param(
            ZoneInfo("America/Santiago"), date(2026, 9, 6), date(2026, 9, 6), _utc(2026, 9, 6, 4), 23, id="santiago-23h"
        ),
        pytest.param(
            ZoneInfo("America/Santiago"), date(2026, 4, 4), date(2026, 4, 4), _utc(2026, 4, 4, 3), 25, id="santiago-25h"
        ),
    ],
)
def test_local_days_window(zone: ZoneInfo, first: date, last: date, start: datetime, hours: int) -> None:
    window_start, window_end = local_days_window(first, last, zone)
    assert window_start == start
    assert window_end - window_start == timedelta(hours=hours)
    assert window_end == local_midnight(last + timedelta(days=1), zone)


def test_lord_howe_half_hour_dst_day() -> None:
    start, end = local_days_window(date(2026, 4, 5), date(2026, 4, 5), ZoneInfo("Australia/Lord_Howe"))
    assert (start, end - start) == (_utc(2026, 4, 4, 13), timedelta(hours=24, minutes=30))


def test_consecutive_windows_tile_without_gaps() -> None:
    day = date(2026, 3, 20)
    previous_end: datetime | None = None
    for _ in range(20):
        start, end = local_days_window(day, day, BERLIN)
        if previous_end is not None:
            assert start == previous_end
        previous_end = end
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        pytest.param(BERLIN, _utc(2026, 3, 28, 22, 59), date(2026, 3, 28), id="berlin-before-midnight"),
        pytest.param(BERLIN, _utc(2026, 3, 28, 23, 0), date(2026, 3, 29), id="berlin-at-midnight"),
        pytest.param(BERLIN, _utc(2026, 3, 29, 21, 59), date(2026, 3, 29), id="berlin-end-of-23h-day"),
        pytest.param(BERLIN, _utc(2026, 3, 29, 22, 0), date(2026, 3, 30), id="berlin-after-23h-day"),
        pytest.param(BERLIN, _utc(2026, 10, 25, 0, 30), date(2026, 10, 25), id="berlin-repeated-hour-first"),
        pytest.param(BERLIN, _utc(2026, 10, 25, 1, 30), date(2026, 10, 25), id="berlin-repeated-hour-second"),
        pytest.param(BERLIN, _utc(2026, 10, 25, 22, 59), date(2026, 10, 25), id="berlin-end-of-25h-day"),
        pytest.param(BERLIN, _utc(2026, 10, 25, 23, 0), date(2026, 10, 26), id="berlin-after-25h-day"),
        pytest.param(UTC_ZONE, _utc(2026, 3, 28, 23, 30), date(2026, 3, 28), id="utc-late"),
        pytest.param(UTC_ZONE, _utc(2026, 3, 29, 0, 0), date(2026, 3, 29), id="utc-midnight"),
        pytest.param(
            BERLIN, datetime(2026, 3, 28, 20, 30, tzinfo=timezone(timedelta(hours=-5))), date(2026, 3, 29), id="offset"
        ),
        pytest.param(ZoneInfo("Pacific/Kiritimati"), _utc(2026, 3, 1, 10), date(2026, 3, 2), id="utc+14"),
        pytest.param(ZoneInfo("Pacific/Pago_Pago"), _utc(2026, 3, 1, 10), date(2026, 2, 28), id="utc-11"),
    ],
)
def test_local_today(zone: ZoneInfo, now: datetime, expected: date) -> None:
    assert local_today(zone, now) == expected


def test_local_today_without_now_is_today_somewhere_near() -> None:
    before = datetime.now(UTC).date()
    today = local_today(UTC_ZONE)
    after = datetime.now(UTC).date()
    assert today in {before, after}
