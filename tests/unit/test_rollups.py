"""rollups: day links count distinct users in any window, cohort tables per interval, and changes are additive
(one day at a time = all at once; a deletion zeroes everything) (product.md §4)."""

import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from pulse_common.periods import Interval, period_start, periods_covering, shift_period
from pulse_metrics.projections.rollups import (
    NEVER,
    Link,
    RollupChanges,
    cohort_periods,
    days_between,
    links,
    nonzero,
)

START = date(2025, 12, 1)
END = START + timedelta(days=119)  # 120 days: December .. late March, crossing a year and three months
D = date


def _random_users(seed: int = 7, users: int = 200) -> list[set[date]]:
    rng = random.Random(seed)
    span = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    result = []
    for _ in range(users):
        density = rng.choice([0.0, 0.01, 0.05, 0.2, 0.6, 1.0])
        result.append({day for day in span if rng.random() < density})
    return result


USERS = _random_users()


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([D(2026, 1, 5)], [(D(2026, 1, 5), NEVER)], id="one-day"),
        pytest.param(
            [D(2026, 2, 1), D(2026, 1, 5), D(2026, 2, 1), D(2026, 1, 31), D(2026, 1, 5)],
            [(D(2026, 1, 5), NEVER), (D(2026, 1, 31), D(2026, 1, 5)), (D(2026, 2, 1), D(2026, 1, 31))],
            id="unsorted-duplicates",
        ),
    ],
)
def test_links(days: list[date], expected: list[Link]) -> None:
    assert links(days) == expected


def _windows() -> list[tuple[date, date]]:
    windows = [
        (a, a + timedelta(days=length - 1)) for a in periods_covering(START, END, "day") for length in (1, 7, 30)
    ]
    windows += [
        (D(2025, 12, 28), D(2026, 1, 3)),  # across the year and month boundary
        (D(2026, 1, 25), D(2026, 2, 5)),
        (D(2026, 2, 28), D(2026, 3, 1)),
        (START - timedelta(days=10), START),  # starting before any activity
        (START, END),
        (END, END + timedelta(days=30)),
    ]
    return windows


def test_links_count_distinct_users_in_any_window() -> None:
    changes = RollupChanges()
    for days in USERS:
        changes.change_active_days("p", [], sorted(days))
    table = nonzero(changes.activity_links)
    assert sum(n for _, n in table) == sum(len(days) for days in USERS)
    for a, b in _windows():
        by_links = sum(n for (_, day, previous), n in table if a <= day <= b and previous < a)
        brute = sum(1 for days in USERS if any(a <= day <= b for day in days))
        assert by_links == brute, (a, b)
    assert any(len(days) == 0 for days in USERS)  # the sample holds users with no days and users with many
    assert any(len(days) > 60 for days in USERS)


@pytest.mark.parametrize("interval", ["week", "month"])
def test_links_count_users_retained_from_the_previous_period(interval: Interval) -> None:
    all_links = [link for days in USERS for link in links(days)]
    checked = 0
    for start in periods_covering(START, END, interval):
        before = shift_period(start, interval, -1)
        by_links = sum(
            1
            for day, previous in all_links
            if previous != NEVER and period_start(day, interval) == start and period_start(previous, interval) == before
        )
        brute = sum(
            1
            for days in USERS
            if {period_start(d, interval) for d in days} >= {start, before}  # active in both periods
        )
        assert by_links == brute, start
        checked += brute
    assert checked > 0


def test_cohort_tables_match_brute_force() -> None:
    changes = RollupChanges()
    for days in USERS:
        changes.change_active_days("p", [], list(days))
    active: Counter[tuple[str, Interval, date, date]] = Counter()
    last: Counter[tuple[str, Interval, date, date]] = Counter()
    intervals: tuple[Interval, ...] = ("day", "week", "month")
    for days in filter(None, USERS):
        for interval in intervals:
            periods = {period_start(d, interval) for d in days}
            for period in periods:
                active[("p", interval, min(periods), period)] += 1
            last[("p", interval, min(periods), max(periods))] += 1
    assert nonzero(changes.cohort_active) == sorted(active.items())
    assert nonzero(changes.cohort_last) == sorted(last.items())


def _counters(changes: RollupChanges) -> list[Counter[Any]]:
    return [changes.activity_links, changes.cohort_active, changes.cohort_last, changes.feature_links]


@pytest.mark.parametrize("seed", range(5))
def test_one_day_at_a_time_equals_all_at_once_and_deletion_zeroes(seed: int) -> None:
    rng = random.Random(seed)
    users = [days for days in USERS if days][seed * 10 : seed * 10 + 10]
    stepwise, whole = RollupChanges(), RollupChanges()
    for user, days in enumerate(users):
        order = sorted(days)
        rng.shuffle(order)
        so_far: list[date] = []
        for new in [*order, order[0]]:  # ends with a repeated day: no change
            stepwise.change_active_days("p", so_far, [*so_far, new])
            stepwise.change_feature_days("p", f"f{user}", so_far, [*so_far, new])
            so_far.append(new)
        whole.change_active_days("p", [], order)
        whole.change_feature_days("p", f"f{user}", [], order)
    for step, once in zip(_counters(stepwise), _counters(whole), strict=True):
        assert once
        assert nonzero(step) == nonzero(once)
    for user, days in enumerate(users):
        stepwise.change_active_days("p", sorted(days), [])
        stepwise.change_feature_days("p", f"f{user}", sorted(days), [])
    for counter in _counters(stepwise):
        assert counter
        assert all(n == 0 for n in counter.values())


def test_cohort_periods_across_month_year_and_iso_week() -> None:
    # 2025-12-31 (Wed) and 2026-01-01 (Thu) share the ISO week of Monday 2025-12-29; 2026-01-05 is a Monday.
    days = [D(2026, 1, 5), D(2025, 12, 31), D(2026, 1, 1), D(2025, 12, 31)]
    active, last = cohort_periods(days)
    assert active == [
        ("day", D(2025, 12, 31), D(2025, 12, 31)),
        ("day", D(2025, 12, 31), D(2026, 1, 1)),
        ("day", D(2025, 12, 31), D(2026, 1, 5)),
        ("week", D(2025, 12, 29), D(2025, 12, 29)),
        ("week", D(2025, 12, 29), D(2026, 1, 5)),
        ("month", D(2025, 12, 1), D(2025, 12, 1)),
        ("month", D(2025, 12, 1), D(2026, 1, 1)),
    ]
    assert last == [
        ("day", D(2025, 12, 31), D(2026, 1, 5)),
        ("week", D(2025, 12, 29), D(2026, 1, 5)),
        ("month", D(2025, 12, 1), D(2026, 1, 1)),
    ]
    assert cohort_periods([]) == ([], [])


def test_change_adoption_delay() -> None:
    changes = RollupChanges()
    changes.change_adoption_delay("p", "f", 2, 2)
    assert changes.adoption_delays == Counter()
    changes.change_adoption_delay("p", "f", None, 3)
    changes.change_adoption_delay("p", "f", 3, 1)
    assert nonzero(changes.adoption_delays) == [(("p", "f", 1), 1)]
    changes.change_adoption_delay("p", "f", 1, None)
    assert dict(changes.adoption_delays) == {("p", "f", 3): 0, ("p", "f", 1): 0}


def test_days_between() -> None:
    assert days_between(D(2026, 1, 30), D(2026, 2, 2)) == 3
    assert days_between(D(2026, 2, 2), D(2026, 2, 2)) == 0
    assert days_between(D(2026, 2, 2), D(2026, 1, 30)) == -3
    assert days_between(None, D(2026, 2, 2)) is None
    assert days_between(D(2026, 2, 2), None) is None
    assert days_between(None, None) is None


def test_nonzero_drops_zeros_and_sorts_keys() -> None:
    counter: Counter[tuple[str, int]] = Counter({("b", 1): 2, ("a", 2): 0, ("c", 0): -1, ("a", 1): 3})
    assert nonzero(counter) == [(("a", 1), 3), (("b", 1), 2), (("c", 0), -1)]
    assert nonzero(Counter()) == []
