"""Satisfaction formulas (product.md §6) against hand-computed values: NPS 30 +- 7.7 at n = 400, Wilson at 0 % and
100 %, empty windows and a single response."""

import math

import pytest

from pulse_feedback.scores import Interval, nps, score_class, share, wilson


def test_the_example_of_the_definitions_nps_30_plus_minus_7_7() -> None:
    result = nps({10: 200, 8: 120, 3: 80})  # n = 400, p = 0.5, d = 0.2
    assert (result.n, result.promoters, result.passives, result.detractors) == (400, 200, 120, 80)
    assert result.score == pytest.approx(30.0)
    assert result.margin == pytest.approx(7.7, abs=0.05)
    assert result.margin == pytest.approx(1.96 * 100 * math.sqrt((0.5 + 0.2 - 0.3**2) / 400), rel=1e-3)


@pytest.mark.parametrize(
    ("histogram", "score", "margin"),
    [
        ({}, None, None),  # an empty window says nothing
        ({9: 1}, 100.0, 0.0),  # a single promoter: +100, and no spread to measure
        ({0: 5}, -100.0, 0.0),
        ({7: 3, 8: 2}, 0.0, 0.0),  # only passives
        ({10: 1, 0: 1}, 0.0, 1.959963984540054 * 100 * math.sqrt(1 / 2)),
    ],
)
def test_nps_edges(histogram: dict[int, int], score: float | None, margin: float | None) -> None:
    result = nps(histogram)
    assert result.score == (pytest.approx(score) if score is not None else None)
    assert result.margin == (pytest.approx(margin) if margin is not None else None)


@pytest.mark.parametrize(
    ("kind", "score", "label"),
    [
        ("nps", 10, "promoter"),
        ("nps", 9, "promoter"),
        ("nps", 8, "passive"),
        ("nps", 7, "passive"),
        ("nps", 6, "detractor"),
        ("nps", 0, "detractor"),
        ("csat", 5, "satisfied"),
        ("csat", 4, "satisfied"),
        ("csat", 3, "unsatisfied"),
        ("ces", 5, "agree"),
        ("ces", 4, "disagree"),
    ],
)
def test_score_classes(kind: str, score: int, label: str) -> None:
    assert score_class(kind, score) == label  # type: ignore[arg-type]


def test_wilson_against_a_hand_computation() -> None:
    # 8 of 10: centre (0.8 + 1.92/10) / 1.384 = 0.7168; half 1.96 * sqrt(0.016 + 0.0096) / 1.384 = 0.2266
    interval = wilson(8, 10)
    assert interval is not None
    assert (interval.low, interval.high) == (pytest.approx(0.4902, abs=1e-3), pytest.approx(0.9433, abs=1e-3))


def test_wilson_at_the_boundaries_stays_inside_zero_and_one_and_is_not_empty() -> None:
    none_of_20, all_of_20 = wilson(0, 20), wilson(20, 20)
    assert none_of_20 is not None and all_of_20 is not None  # noqa: PT018
    assert none_of_20.low == 0.0
    assert none_of_20.high == pytest.approx(3.8415 / (20 + 3.8415), abs=1e-4)  # z^2 / (n + z^2)
    assert all_of_20.high == 1.0
    assert all_of_20.low == pytest.approx(20 / (20 + 3.8415), abs=1e-4)
    assert wilson(0, 0) is None


def test_csat_share_mean_and_intervals() -> None:
    # 4 satisfied of 5; mean 21 / 5 = 4.2; s^2 = (3 * 0.8^2 + 0.2^2 + 2.2^2) / 4 = 1.7
    result = share("csat", {5: 3, 4: 1, 2: 1})
    assert (result.n, result.good, result.rate, result.mean) == (5, 4, 0.8, pytest.approx(4.2))
    assert result.rate_interval == wilson(4, 5)
    half = 1.959963984540054 * math.sqrt(1.7 / 5)
    assert result.mean_interval == Interval(pytest.approx(4.2 - half), pytest.approx(4.2 + half))  # type: ignore[arg-type]


def test_ces_counts_five_to_seven_as_agree() -> None:
    result = share("ces", {7: 1, 5: 1, 4: 2})
    assert (result.good, result.rate) == (2, 0.5)


def test_a_single_response_has_a_rate_interval_but_no_mean_interval() -> None:
    result = share("csat", {5: 1})
    assert (result.rate, result.mean, result.mean_interval) == (1.0, 5.0, None)
    assert result.rate_interval is not None
    assert share("ces", {}).rate is None
