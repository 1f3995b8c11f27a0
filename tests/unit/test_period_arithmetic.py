"""period_start, shift_period and periods_covering: local days, ISO weeks (Monday start), calendar months (§3)."""

from datetime import date, timedelta
from itertools import pairwise

import pytest

from pulse_common.periods import Interval, period_start, periods_covering, shift_period


@pytest.mark.parametrize(
    ("day", "interval", "expected"),
    [
        # day: the day itself
        pytest.param(date(2026, 11, 22), "day", date(2026, 11, 22), id="day-sunday"),
        pytest.param(date(2024, 2, 29), "day", date(2024, 2, 29), id="day-leap-day"),
        pytest.param(date(2026, 12, 31), "day", date(2026, 12, 31), id="day-new-years-eve"),
        # week: the Monday on or before the day
        pytest.param(date(2026, 11, 22), "week", date(2026, 11, 16), id="week-sunday-is-last-day"),
        pytest.param(date(2026, 11, 16), "week", date(2026, 11, 16), id="week-monday-is-start"),
        pytest.param(date(2026, 11, 17), "week", date(2026, 11, 16), id="week-tuesday"),
        pytest.param(date(2026, 11, 21), "week", date(2026, 11, 16), id="week-saturday"),
        pytest.param(date(2026, 11, 23), "week", date(2026, 11, 23), id="week-next-monday"),
        pytest.param(date(2027, 1, 1), "week", date(2026, 12, 28), id="week-friday-across-new-year"),
        pytest.param(date(2027, 1, 3), "week", date(2026, 12, 28), id="week-sunday-across-new-year"),
        pytest.param(date(2027, 1, 4), "week", date(2027, 1, 4), id="week-first-monday-of-2027"),
        pytest.param(date(2024, 3, 3), "week", date(2024, 2, 26), id="week-across-leap-february"),
        pytest.param(date(2026, 3, 1), "week", date(2026, 2, 23), id="week-across-february"),
        pytest.param(date(2026, 3, 29), "week", date(2026, 3, 23), id="week-dst-sunday"),
        # month: the first of the month
        pytest.param(date(2026, 11, 22), "month", date(2026, 11, 1), id="month-mid"),
        pytest.param(date(2026, 11, 1), "month", date(2026, 11, 1), id="month-first"),
        pytest.param(date(2026, 12, 31), "month", date(2026, 12, 1), id="month-last-day-of-year"),
        pytest.param(date(2024, 2, 29), "month", date(2024, 2, 1), id="month-leap-day"),
        pytest.param(date(2027, 1, 1), "month", date(2027, 1, 1), id="month-new-year"),
    ],
)
def test_period_start(day: date, interval: Interval, expected: date) -> None:
    assert period_start(day, interval) == expected


@pytest.mark.parametrize(
    "day",
    [date(2026, 12, 20) + timedelta(days=n) for n in range(21)],
    ids=lambda d: d.isoformat(),
)
def test_week_start_is_the_monday_at_most_six_days_before(day: date) -> None:
    start = period_start(day, "week")
    assert start.weekday() == 0
    assert timedelta(0) <= day - start <= timedelta(days=6)
    assert start.isocalendar()[:2] == day.isocalendar()[:2]


@pytest.mark.parametrize(
    ("start", "interval", "count", "expected"),
    [
        # day
        pytest.param(date(2026, 12, 31), "day", 1, date(2027, 1, 1), id="day-forward-into-new-year"),
        pytest.param(date(2027, 1, 1), "day", -1, date(2026, 12, 31), id="day-back-into-old-year"),
        pytest.param(date(2024, 3, 1), "day", -1, date(2024, 2, 29), id="day-back-to-leap-day"),
        pytest.param(date(2026, 3, 1), "day", -1, date(2026, 2, 28), id="day-back-non-leap"),
        pytest.param(date(2026, 3, 28), "day", 2, date(2026, 3, 30), id="day-over-dst"),
        pytest.param(date(2026, 11, 16), "day", 0, date(2026, 11, 16), id="day-zero"),
        pytest.param(date(2026, 1, 1), "day", 365, date(2027, 1, 1), id="day-year"),
        # week
        pytest.param(date(2026, 11, 16), "week", 1, date(2026, 11, 23), id="week-forward"),
        pytest.param(date(2026, 11, 16), "week", -1, date(2026, 11, 9), id="week-back"),
        pytest.param(date(2026, 12, 28), "week", 1, date(2027, 1, 4), id="week-forward-into-new-year"),
        pytest.param(date(2027, 1, 4), "week", -1, date(2026, 12, 28), id="week-back-into-old-year"),
        pytest.param(date(2026, 1, 5), "week", 52, date(2027, 1, 4), id="week-52-forward"),
        pytest.param(date(2027, 1, 4), "week", -53, date(2025, 12, 29), id="week-53-back"),
        pytest.param(date(2024, 2, 26), "week", 1, date(2024, 3, 4), id="week-over-leap-day"),
        pytest.param(date(2026, 11, 16), "week", 0, date(2026, 11, 16), id="week-zero"),
        # month
        pytest.param(date(2026, 1, 1), "month", -1, date(2025, 12, 1), id="month-back-into-old-year"),
        pytest.param(date(2026, 12, 1), "month", 1, date(2027, 1, 1), id="month-forward-into-new-year"),
        pytest.param(date(2026, 1, 1), "month", 13, date(2027, 2, 1), id="month-plus-13"),
        pytest.param(date(2026, 1, 1), "month", 12, date(2027, 1, 1), id="month-plus-12"),
        pytest.param(date(2026, 1, 1), "month", 11, date(2026, 12, 1), id="month-plus-11-stays-in-year"),
        pytest.param(date(2026, 12, 1), "month", -12, date(2025, 12, 1), id="month-minus-12"),
        pytest.param(date(2026, 12, 1), "month", -11, date(2026, 1, 1), id="month-minus-11-stays-in-year"),
        pytest.param(date(2026, 3, 1), "month", -3, date(2025, 12, 1), id="month-minus-3-crosses-year"),
        pytest.param(date(2026, 2, 1), "month", -14, date(2024, 12, 1), id="month-minus-14-crosses-two-years"),
        pytest.param(date(2026, 2, 1), "month", -13, date(2025, 1, 1), id="month-minus-13-to-january"),
        pytest.param(date(2026, 1, 1), "month", 24, date(2028, 1, 1), id="month-plus-24"),
        pytest.param(date(2026, 1, 1), "month", -24, date(2024, 1, 1), id="month-minus-24"),
        pytest.param(date(2026, 11, 1), "month", 0, date(2026, 11, 1), id="month-zero"),
        pytest.param(date(2024, 1, 1), "month", 1, date(2024, 2, 1), id="month-into-leap-february"),
    ],
)
def test_shift_period(start: date, interval: Interval, count: int, expected: date) -> None:
    assert shift_period(start, interval, count) == expected


@pytest.mark.parametrize("interval", ["day", "week", "month"])
@pytest.mark.parametrize("count", [-25, -13, -12, -1, 0, 1, 11, 12, 13, 25])
def test_shift_period_round_trips(interval: Interval, count: int) -> None:
    start = period_start(date(2026, 1, 1), interval)
    shifted = shift_period(start, interval, count)
    assert period_start(shifted, interval) == shifted
    assert shift_period(shifted, interval, -count) == start


@pytest.mark.parametrize(
    ("first", "last", "interval", "expected"),
    [
        # day
        pytest.param(date(2026, 11, 22), date(2026, 11, 22), "day", [date(2026, 11, 22)], id="day-first-eq-last"),
        pytest.param(
            date(2026, 12, 30),
            date(2027, 1, 2),
            "day",
            [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)],
            id="day-across-new-year",
        ),
        pytest.param(
            date(2024, 2, 28),
            date(2024, 3, 1),
            "day",
            [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)],
            id="day-leap",
        ),
        # week
        pytest.param(date(2026, 11, 16), date(2026, 11, 16), "week", [date(2026, 11, 16)], id="week-first-eq-last-mon"),
        pytest.param(date(2026, 11, 22), date(2026, 11, 22), "week", [date(2026, 11, 16)], id="week-first-eq-last-sun"),
        pytest.param(date(2026, 11, 17), date(2026, 11, 20), "week", [date(2026, 11, 16)], id="week-inside-one"),
        pytest.param(date(2026, 11, 16), date(2026, 11, 22), "week", [date(2026, 11, 16)], id="week-exactly-one"),
        pytest.param(
            date(2026, 11, 22),
            date(2026, 11, 23),
            "week",
            [date(2026, 11, 16), date(2026, 11, 23)],
            id="week-sunday-to-monday",
        ),
        pytest.param(
            date(2026, 11, 18),
            date(2026, 11, 30),
            "week",
            [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)],
            id="week-starting-mid-week",
        ),
        pytest.param(
            date(2026, 12, 25),
            date(2027, 1, 12),
            "week",
            [date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11)],
            id="week-across-new-year",
        ),
        # month
        pytest.param(date(2026, 2, 28), date(2026, 2, 28), "month", [date(2026, 2, 1)], id="month-first-eq-last"),
        pytest.param(date(2026, 2, 2), date(2026, 2, 27), "month", [date(2026, 2, 1)], id="month-inside-one"),
        pytest.param(date(2026, 2, 1), date(2026, 2, 28), "month", [date(2026, 2, 1)], id="month-exactly-one"),
        pytest.param(
            date(2026, 1, 31),
            date(2026, 2, 1),
            "month",
            [date(2026, 1, 1), date(2026, 2, 1)],
            id="month-last-day-to-first-day",
        ),
        pytest.param(
            date(2026, 11, 15),
            date(2027, 2, 3),
            "month",
            [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)],
            id="month-starting-mid-month-across-new-year",
        ),
    ],
)
def test_periods_covering(first: date, last: date, interval: Interval, expected: list[date]) -> None:
    assert periods_covering(first, last, interval) == expected


@pytest.mark.parametrize(
    ("first", "interval", "expected_first_start"),
    [
        pytest.param(date(2026, 11, 18), "week", date(2026, 11, 16), id="week-wednesday"),
        pytest.param(date(2027, 1, 1), "week", date(2026, 12, 28), id="week-in-previous-year"),
        pytest.param(date(2026, 11, 15), "month", date(2026, 11, 1), id="month-mid"),
    ],
)
def test_periods_covering_mid_period_starts_before_first(
    first: date, interval: Interval, expected_first_start: date
) -> None:
    starts = periods_covering(first, first + timedelta(days=40), interval)
    assert starts[0] == expected_first_start
    assert starts[0] < first
    for earlier, later in pairwise(starts):
        assert shift_period(earlier, interval, 1) == later
    assert shift_period(starts[-1], interval, 1) > first + timedelta(days=40)
