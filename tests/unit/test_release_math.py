"""Release-health arithmetic (product.md §5): user hour links and their incremental changes (one session at a time =
all at once; removing everything zeroes every counter), the two-proportion z-test, adoption stages over the last
6 hours before ``end``, rates with zero denominators and the sliding sum."""

import math
from collections import Counter
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_metrics.projections.release_rollups import (
    ReleaseRollupChanges,
    UserKey,
    hour_links,
    recent_links,
    user_hours,
)
from pulse_metrics.projections.rollups import NEVER
from pulse_metrics.projections.session_state import Counts, UserKind
from pulse_metrics.queries.release_math import Stage, compare_proportions, free_rate, rate, sliding_sum, stages

H = datetime
USER: UserKey = ("acme", "app@1.0", "production", "u-1")


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([H(2026, 3, 1, 9)], [(H(2026, 3, 1, 9), NEVER)], id="one-hour"),
        pytest.param(
            [H(2026, 3, 2, 1), H(2026, 3, 1, 23), H(2026, 3, 1, 22), H(2026, 3, 1, 23)],
            [
                (H(2026, 3, 1, 22), NEVER),
                (H(2026, 3, 1, 23), date(2026, 3, 1)),
                (H(2026, 3, 2, 1), date(2026, 3, 1)),
            ],
            id="unsorted-duplicates-over-midnight",
        ),
    ],
)
def test_hour_links(hours: list[datetime], expected: list[tuple[datetime, date]]) -> None:
    assert hour_links(hours) == expected


def test_user_hours() -> None:
    h1, h2, h3 = H(2026, 3, 1, 9), H(2026, 3, 1, 10), H(2026, 3, 1, 11)
    activity = [(h1, Counts(1)), (h1, Counts(1, crashed=1)), (h2, Counts(2, errored=1)), (h3, Counts())]
    assert user_hours(activity) == {"any": {h1, h2}, "crashed": {h1}, "unhealthy": {h1, h2}}
    assert user_hours([]) == {"any": set(), "crashed": set(), "unhealthy": set()}


SESSIONS = [
    (H(2026, 3, 1, 9), Counts(1)),
    (H(2026, 3, 1, 9), Counts(1)),  # a second session in the same hour
    (H(2026, 3, 1, 23), Counts(1, crashed=1)),
    (H(2026, 3, 2, 8), Counts(1, errored=1)),
    (H(2026, 3, 1, 9), Counts(1, abnormal=1)),  # late, in the first hour
]


def _nonzero(links: Counter[tuple[str, str, str, UserKind, datetime, date]]) -> dict[object, int]:
    return {key: value for key, value in links.items() if value != 0}


def test_change_user_incremental_equals_all_at_once_and_removal_zeroes() -> None:
    incremental = ReleaseRollupChanges()
    for i in range(len(SESSIONS)):
        incremental.change_user(USER, user_hours(SESSIONS[:i]), user_hours(SESSIONS[: i + 1]))
    at_once = ReleaseRollupChanges()
    at_once.change_user(USER, user_hours([]), user_hours(SESSIONS))
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)
    base = ("acme", "app@1.0", "production")
    assert _nonzero(at_once.user_links) == {
        (*base, "any", H(2026, 3, 1, 9), NEVER): 1,
        (*base, "any", H(2026, 3, 1, 23), d1): 1,
        (*base, "any", H(2026, 3, 2, 8), d1): 1,
        (*base, "crashed", H(2026, 3, 1, 23), NEVER): 1,
        (*base, "unhealthy", H(2026, 3, 1, 9), NEVER): 1,
        (*base, "unhealthy", H(2026, 3, 1, 23), d1): 1,
        (*base, "unhealthy", H(2026, 3, 2, 8), d1): 1,
    }
    assert d2 not in {key[5] for key in at_once.user_links}
    assert _nonzero(incremental.user_links) == _nonzero(at_once.user_links)
    incremental.change_user(USER, user_hours(SESSIONS), user_hours([]))
    assert incremental.user_links
    assert all(value == 0 for value in incremental.user_links.values())


def test_several_sessions_in_one_hour_count_the_user_once() -> None:
    changes = ReleaseRollupChanges()
    changes.change_user(USER, user_hours([]), user_hours(SESSIONS[:1]))
    snapshot = Counter(changes.user_links)
    changes.change_user(USER, user_hours(SESSIONS[:1]), user_hours(SESSIONS[:2]))
    only = Counter({("acme", "app@1.0", "production", "any", H(2026, 3, 1, 9), NEVER): 1})
    assert changes.user_links == snapshot == only


def test_add_counts_skips_zero_columns_and_cancels() -> None:
    changes = ReleaseRollupChanges()
    key = ("acme", "app@1.0", "production", H(2026, 3, 1, 9))
    changes.add_counts(key, Counts(3, errored=1), +1)
    assert changes.hours == Counter({(*key, "sessions"): 3, (*key, "errored"): 1})
    changes.add_counts(key, Counts(3, errored=1), -1)
    assert all(value == 0 for value in changes.hours.values())


def test_compare_proportions_hand_computed() -> None:
    result = compare_proportions((950, 1000), (900, 1000))
    se = math.sqrt(0.925 * 0.075 * (2 / 1000))
    assert result.base == pytest.approx(0.95)
    assert result.candidate == pytest.approx(0.90)
    assert result.difference == pytest.approx(-0.05)
    assert result.z == pytest.approx(-0.05 / se)
    assert result.z == pytest.approx(-4.2448, abs=1e-4)
    assert result.p_value == pytest.approx(2.188e-5, rel=1e-3)
    assert result.significant


def test_compare_proportions_not_significant() -> None:
    result = compare_proportions((950, 1000), (940, 1000))
    assert result.z == pytest.approx(-0.9808, abs=1e-4)
    assert result.p_value == pytest.approx(0.3267, abs=1e-4)
    assert not result.significant


@pytest.mark.parametrize(
    ("base", "candidate"),
    [((0, 0), (5, 10)), ((5, 10), (0, 0)), ((0, 0), (0, 0))],
)
def test_compare_proportions_zero_trials(base: tuple[int, int], candidate: tuple[int, int]) -> None:
    result = compare_proportions(base, candidate)
    assert (result.base, result.candidate) == (rate(*base), rate(*candidate))
    assert (result.difference, result.z, result.p_value, result.significant) == (None, None, None, False)


@pytest.mark.parametrize(("base", "candidate", "value"), [((1000, 1000), (500, 500), 1.0), ((0, 40), (0, 7), 0.0)])
def test_compare_proportions_identical_extreme_rates(
    base: tuple[int, int], candidate: tuple[int, int], value: float
) -> None:
    result = compare_proportions(base, candidate)
    assert (result.base, result.candidate, result.difference) == (value, value, 0.0)
    assert (result.z, result.p_value, result.significant) == (None, None, False)


@pytest.mark.parametrize(
    ("base", "candidate"),
    [((950, 1000), (900, 1000)), ((900, 1000), (950, 1000)), ((50, 100), (60, 100)), ((97, 100), (880, 1000))],
)
def test_p_value_is_two_sided_normal_of_z(base: tuple[int, int], candidate: tuple[int, int]) -> None:
    result = compare_proportions(base, candidate)
    assert result.z is not None
    assert result.p_value is not None
    assert result.p_value == pytest.approx(2 * (1 - NormalDist().cdf(abs(result.z))), rel=1e-6, abs=1e-12)
    assert result.significant == (result.p_value < 0.05)
    assert compare_proportions(candidate, base).z == pytest.approx(-result.z)


END = H(2026, 3, 2, 0)


def _hours(first: int, last: int, n: int) -> dict[datetime, int]:
    """``n`` sessions in each hour from ``first`` to ``last`` hours before END (inclusive, first > last >= 1)."""
    return {END - timedelta(hours=h): n for h in range(last, first + 1)}


def test_stages_of_one_environment() -> None:
    hourly = {
        "1.0": _hours(24, 13, 100),  # adopted the first half of the day, then gone
        "2.0": _hours(12, 1, 100),
        "2.1": _hours(3, 1, 30),  # 90 of 690 sessions over the last 6 hours (13 %)
        "2.1-rc": _hours(24, 1, 1),  # never near 10 %
        "3.0": {END: 10_000, END + timedelta(hours=1): 10_000},  # at or after END: ignored
        "0.9": {},
    }
    assert stages(hourly, END) == {
        "1.0": "replaced",
        "2.0": "adopted",
        "2.1": "adopted",
        "2.1-rc": "low",
        "3.0": "low",
        "0.9": "low",
    }


@pytest.mark.parametrize(
    ("candidate", "rest", "stage"),
    [
        pytest.param(_hours(1, 1, 10), _hours(1, 1, 90), "adopted", id="exactly-10%"),
        pytest.param(_hours(1, 1, 3), _hours(1, 1, 27), "adopted", id="exactly-10%-3-of-30"),
        pytest.param(_hours(1, 1, 9), _hours(1, 1, 91), "low", id="9%"),
        pytest.param({END - timedelta(hours=6): 6}, _hours(6, 1, 9), "adopted", id="window-start-included"),
        pytest.param({END - timedelta(hours=7): 6}, _hours(6, 1, 9), "replaced", id="just-before-window"),
    ],
)
def test_stage_threshold_and_window(candidate: dict[datetime, int], rest: dict[datetime, int], stage: Stage) -> None:
    assert stages({"candidate": candidate, "rest": rest}, END)["candidate"] == stage


def test_a_quiet_night_keeps_the_stages_of_the_last_hours_with_sessions() -> None:
    # Nothing in the last 8 hours: the stage is the one of the 6 hours ending at the last session.
    hourly = {"old": _hours(30, 20, 100), "new": _hours(19, 9, 100)}
    assert stages(hourly, END) == {"old": "replaced", "new": "adopted"}


def test_an_end_between_hours_counts_the_hour_before_it() -> None:
    assert stages({"a": {END - timedelta(hours=2): 5, END: 1}}, END + timedelta(minutes=30)) == {"a": "adopted"}


def test_stages_without_sessions_in_range() -> None:
    assert stages({}, END) == {}
    assert stages({"a": {END: 5}, "b": {}}, END) == {"a": "low", "b": "low"}


@pytest.mark.parametrize(
    ("part", "whole", "expected", "free"),
    [(1, 4, 0.25, 0.75), (0, 5, 0.0, 1.0), (10, 10, 1.0, 0.0), (0, 0, None, None), (3, 0, None, None)],
)
def test_rate_and_free_rate(part: int, whole: int, expected: float | None, free: float | None) -> None:
    assert rate(part, whole) == expected
    assert free_rate(part, whole) == free


@pytest.mark.parametrize(
    ("values", "width", "expected"),
    [
        ([], 3, []),
        ([1, 2, 3], 1, [1, 2, 3]),
        ([1, 2, 3, 4, 5], 2, [1, 3, 5, 7, 9]),
        ([1, 2, 3], 5, [1, 3, 6]),
        ([5, 0, 0, 0, 0, 0, 0, 1], 6, [5, 5, 5, 5, 5, 5, 0, 1]),
    ],
)
def test_sliding_sum(values: list[int], width: int, expected: list[int]) -> None:
    assert sliding_sum(values, width) == expected


def test_recent_links_hand_computed() -> None:
    hours = [H(2026, 3, 2, 8), H(2026, 3, 1, 9), H(2026, 3, 1, 23), H(2026, 3, 1, 9)]
    assert recent_links(hours) == [
        (H(2026, 3, 1, 9), H(2026, 2, 28, 9)),  # the first: 24 hours before it
        (H(2026, 3, 1, 23), H(2026, 3, 1, 9)),
        (H(2026, 3, 2, 8), H(2026, 3, 1, 23)),
    ]
    # A previous hour 24 or more hours back is as good as none: before every window of 24 hours holding the hour.
    assert recent_links([H(2026, 3, 1, 0), H(2026, 3, 2, 0), H(2026, 3, 4, 5)]) == [
        (H(2026, 3, 1, 0), H(2026, 2, 28, 0)),
        (H(2026, 3, 2, 0), H(2026, 3, 1, 0)),
        (H(2026, 3, 4, 5), H(2026, 3, 3, 5)),
    ]


@settings(max_examples=300, deadline=None)
@given(
    users=st.lists(st.sets(st.integers(0, 96), max_size=12), min_size=1, max_size=6),
    start=st.integers(-30, 100),
    width=st.integers(1, 24),
)
def test_recent_links_count_each_user_of_a_window_of_at_most_24_hours_once(
    users: list[set[int]], start: int, width: int
) -> None:
    origin = H(2026, 3, 1, 0)
    window_start, window_end = origin + timedelta(hours=start), origin + timedelta(hours=start + width)
    counted = 0
    for offsets in users:
        links = recent_links(origin + timedelta(hours=n) for n in offsets)
        counted += sum(1 for hour, previous in links if window_start <= hour < window_end and previous < window_start)
    active = sum(
        1 for offsets in users if any(window_start <= origin + timedelta(hours=n) < window_end for n in offsets)
    )
    assert counted == active


def test_environment_links_count_a_user_of_two_releases_once_and_removal_zeroes() -> None:
    changes = ReleaseRollupChanges()
    for release in ("app@1.0", "app@1.1"):
        changes.change_user(("acme", release, "production", "u1"), user_hours([]), user_hours(SESSIONS))
    changes.change_environment_user(("acme", "production", "u1"), set(), {hour for hour, _ in SESSIONS})
    window = (H(2026, 3, 1, 12), H(2026, 3, 2, 12))

    def users_in(links: Counter[Any]) -> int:
        return sum(n for key, n in links.items() if window[0] <= key[1] < window[1] and key[-1] < window[0])

    assert users_in(changes.recent_links) == 2  # one per release
    assert users_in(changes.environment_links) == 1
    changes.change_environment_user(("acme", "production", "u1"), {hour for hour, _ in SESSIONS}, set())
    assert all(n == 0 for n in changes.environment_links.values())
