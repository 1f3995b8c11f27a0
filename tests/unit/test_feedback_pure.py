"""The pure parts of the feedback service against hand-computed values: weighted log-odds themes (Monroe, Colaresi &
Quinn 2008), the figures of a histogram and its periods, what a response row becomes (local day in a DST zone,
sides at class boundaries), erasure within a batch (responses, usage context, sessions), the crash transition,
rollup groups and SQL conditions of a filter, verbatim cursors and tsquery text of a term."""

import base64
import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from pulse_common.events import (
    FeedbackResponded,
    FeedbackStreamEvent,
    SessionsAggregated,
    SessionStreamEvent,
    SessionUpdated,
    UsageEventRecorded,
    UsageStreamEvent,
    UserDeleted,
)
from pulse_common.http.reads import Segment
from pulse_common.session_state import SessionState
from pulse_feedback.figures import by_period, columns, figures
from pulse_feedback.projections.crashes import after_deletions, crashed_now
from pulse_feedback.projections.response_rows import (
    dimension_values,
    response_row,
    score_day_changes,
    side_of,
    surviving_responses,
)
from pulse_feedback.projections.usage_context import context_changes
from pulse_feedback.queries.filters import ResponseFilter
from pulse_feedback.queries.themes import term_query
from pulse_feedback.queries.verbatims import InvalidCursor, Position
from pulse_feedback.scores import Kind
from pulse_feedback.themes import TermScore, top_terms, weighted_log_odds

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
Z_95 = 1.959963984540054


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- themes: weighted log-odds with an informative Dirichlet prior ----------------------------------------------

# Side i (e.g. detractors) and side j (promoters), 100 term occurrences each; the prior is their sum (a_0 = 200).
SIDE = {"crash": 50, "bug": 5, "ok": 45}
OTHER = {"crash": 10, "bug": 1, "ok": 89}
PRIOR = {"crash": 60, "bug": 6, "ok": 134}


def _hand_delta_z(y_i: int, y_j: int, a_w: int) -> tuple[float, float]:
    """eq. 22 written out with n_i = n_j = 100 and a_0 = 200 (not the module's code)."""
    delta = math.log((y_i + a_w) / (100 + 200 - y_i - a_w)) - math.log((y_j + a_w) / (100 + 200 - y_j - a_w))
    return delta, delta / math.sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))


def test_weighted_log_odds_against_the_formula_by_hand() -> None:
    scores = weighted_log_odds(SIDE, OTHER, PRIOR)
    assert set(scores) == {"crash", "bug", "ok"}
    # crash: log(110 / 190) - log(70 / 230) = -0.5465 + 1.1896 = 0.6430; sd sqrt(1/110 + 1/70) = 0.1529; z = 4.206
    crash = scores["crash"]
    assert (crash.term, crash.count, crash.other_count) == ("crash", 50, 10)
    assert crash.delta == pytest.approx(math.log(110 / 190) - math.log(70 / 230))
    assert crash.z == pytest.approx((math.log(110 / 190) - math.log(70 / 230)) / math.sqrt(1 / 110 + 1 / 70))
    assert (crash.delta, crash.z) == pytest.approx((0.6430, 4.206), abs=1e-3)
    # bug: log(11 / 289) - log(7 / 293) = 0.4657; sd sqrt(1/11 + 1/7) = 0.4835; z = 0.963
    bug = scores["bug"]
    assert (bug.count, bug.other_count) == (5, 1)
    assert (bug.delta, bug.z) == pytest.approx((0.4657, 0.963), abs=1e-3)
    # ok: log(179 / 121) - log(223 / 77) = 0.3916 - 1.0634 = -0.6718; sd sqrt(1/179 + 1/223) = 0.1004; z = -6.694
    ok = scores["ok"]
    assert (ok.count, ok.other_count) == (45, 89)
    assert (ok.delta, ok.z) == pytest.approx((-0.6718, -6.694), abs=1e-3)
    for term, y_i, y_j in (("crash", 50, 10), ("bug", 5, 1), ("ok", 45, 89)):
        delta, z = _hand_delta_z(y_i, y_j, PRIOR[term])
        assert (scores[term].delta, scores[term].z) == pytest.approx((delta, z))


def test_positive_z_means_over_represented_in_side_and_swapping_sides_negates() -> None:
    scores = weighted_log_odds(SIDE, OTHER, PRIOR)
    swapped = weighted_log_odds(OTHER, SIDE, PRIOR)
    # crash is 50 of 100 in side vs 10 of 100 in other: leans to side; ok (45 vs 89) leans to other
    assert scores["crash"].z > 0
    assert scores["ok"].z < 0
    for term in PRIOR:
        # delta(i, j) = f(i) - f(j) and the variance is symmetric, so both flip sign exactly
        assert swapped[term].delta == pytest.approx(-scores[term].delta)
        assert swapped[term].z == pytest.approx(-scores[term].z)
        assert (swapped[term].count, swapped[term].other_count) == (scores[term].other_count, scores[term].count)


def test_the_prior_shrinks_a_rare_term_below_a_frequent_one_with_the_same_ratio() -> None:
    # crash 50 : 10 and bug 5 : 1 have the same 5 : 1 ratio; z 4.206 vs 0.963 (see the hand computation above)
    scores = weighted_log_odds(SIDE, OTHER, PRIOR)
    assert abs(scores["bug"].z) < abs(scores["crash"].z)
    assert scores["bug"].delta < scores["crash"].delta


def test_one_comment_scores_lower_than_fifty_when_neither_is_on_the_other_side() -> None:
    # rare: 1 of 100 in side, 0 of 100 in other, prior 1 (a_0 = 200):
    #   delta = log(2 / 298) - log(1 / 299); z = delta / sqrt(1/2 + 1/1) = 0.6965 / 1.2247 = 0.5687
    # frequent: 50 of 100 in side, 0 of 100 in other, prior 50:
    #   delta = log(100 / 200) - log(50 / 250); z = delta / sqrt(1/100 + 1/50) = 0.9163 / 0.1732 = 5.290
    rare = weighted_log_odds({"rare": 1, "filler": 99}, {"filler": 100}, {"rare": 1, "filler": 199})["rare"]
    frequent = weighted_log_odds({"hot": 50, "filler": 50}, {"filler": 100}, {"hot": 50, "filler": 150})["hot"]
    assert rare.z == pytest.approx((math.log(2 / 298) - math.log(1 / 299)) / math.sqrt(1 / 2 + 1))
    assert frequent.z == pytest.approx((math.log(100 / 200) - math.log(50 / 250)) / math.sqrt(1 / 100 + 1 / 50))
    assert (rare.z, frequent.z) == pytest.approx((0.5687, 5.290), abs=1e-3)
    assert 0 < rare.z < frequent.z


def test_only_terms_with_a_positive_prior_are_scored() -> None:
    # "new" is on side i but not in the prior and "gone" has a zero prior: neither is scored
    scores = weighted_log_odds({"a": 3, "b": 1, "new": 2}, {"a": 1, "b": 3}, {"a": 4, "b": 4, "c": 2, "gone": 0})
    assert set(scores) == {"a", "b", "c"}
    # n_i = 6, n_j = 4, a_0 = 10
    # a: log(7 / (6 + 10 - 3 - 4)) - log(5 / (4 + 10 - 1 - 4)) = log(7 / 9) - log(5 / 9) = log(1.4) = 0.3365
    assert scores["a"].delta == pytest.approx(math.log(7 / 5))
    assert scores["a"].z == pytest.approx(math.log(7 / 5) / math.sqrt(1 / 7 + 1 / 5))
    # c, in no comment of either side: log(2 / 14) - log(2 / 12) = log(6 / 7); sd sqrt(1/2 + 1/2) = 1
    assert (scores["c"].count, scores["c"].other_count) == (0, 0)
    assert scores["c"].delta == pytest.approx(math.log(6 / 7))
    assert scores["c"].z == pytest.approx(math.log(6 / 7))


@pytest.mark.parametrize(
    ("side", "other", "prior"),
    [
        ({"slow": 1}, {}, {"slow": 1}),  # the window's only comment: one detractor saying "slow"
        ({"app": 1}, {"app": 1}, {"app": 2}),  # one detractor and one promoter, both saying only "app"
        ({}, {"great": 3}, {"great": 3}),
    ],
)
def test_a_window_with_a_single_term_is_scored_without_error(
    side: dict[str, int], other: dict[str, int], prior: dict[str, int]
) -> None:
    # The themes route builds the prior from every comment of the window, so a window whose comments all reduce to
    # one term (a new project, a narrow date range) gives a_0 = a_w and n = y on each side: the denominator
    # n + a_0 - y - a_w of the log-odds is 0. The read must still answer (no ZeroDivisionError, finite scores).
    scores = weighted_log_odds(side, other, prior)
    assert all(math.isfinite(s.delta) and math.isfinite(s.z) for s in scores.values())
    top_terms(scores, limit=15, min_count=1)


def _score(term: str, z: float, count: int, other_count: int) -> TermScore:
    return TermScore(term, z / 10, z, count, other_count)


def test_top_terms_orders_by_z_and_limits_each_side() -> None:
    scores = {
        s.term: s
        for s in (
            _score("slow", 5.0, 20, 2),
            _score("crash", 7.0, 30, 1),
            _score("login", 3.0, 9, 1),
            _score("fast", -6.0, 1, 25),
            _score("easy", -2.0, 0, 8),
            _score("love", -4.0, 2, 30),
            _score("meh", 0.0, 5, 5),  # no lean either way: on neither list
        )
    }
    side, other = top_terms(scores, limit=2, min_count=1)
    assert [s.term for s in side] == ["crash", "slow"]  # highest z first, cut at 2
    assert [s.term for s in other] == ["fast", "love"]  # most negative z first, cut at 2
    side, other = top_terms(scores, limit=10, min_count=1)
    assert [s.term for s in side] == ["crash", "slow", "login"]
    assert [s.term for s in other] == ["fast", "love", "easy"]
    assert top_terms(scores, limit=0, min_count=1) == ([], [])


def test_top_terms_min_count_applies_to_the_side_each_term_leans_to() -> None:
    scores = {
        s.term: s
        for s in (
            _score("crash", 7.0, 30, 1),
            _score("login", 3.0, 9, 40),  # leans to side with 9 there (40 on the other side do not count)
            _score("fast", -6.0, 50, 25),  # leans to other with 25 there
            _score("easy", -2.0, 0, 10),  # leans to other with exactly 10 there
            _score("love", -4.0, 2, 9),
        )
    }
    side, other = top_terms(scores, limit=10, min_count=10)
    assert [s.term for s in side] == ["crash"]  # login: 9 < 10
    assert [s.term for s in other] == ["fast", "easy"]  # love: 9 < 10; easy: 10 >= 10


def test_top_terms_breaks_ties_by_term() -> None:
    scores = {
        s.term: s
        for s in (
            _score("zoom", 2.0, 5, 1),
            _score("app", 2.0, 5, 1),
            _score("mid", 2.0, 5, 1),
            _score("yes", -2.0, 1, 5),
            _score("bar", -2.0, 1, 5),
        )
    }
    side, other = top_terms(scores, limit=10, min_count=1)
    assert [s.term for s in side] == ["app", "mid", "zoom"]
    assert [s.term for s in other] == ["bar", "yes"]


def test_top_terms_on_real_scores() -> None:
    # crash z 4.206 and bug z 0.963 lean to side, ok z -6.694 to other (hand computation above); bug has count 5
    side, other = top_terms(weighted_log_odds(SIDE, OTHER, PRIOR), limit=5, min_count=5)
    assert [s.term for s in side] == ["crash", "bug"]
    assert [s.term for s in other] == ["ok"]
    side, other = top_terms(weighted_log_odds(SIDE, OTHER, PRIOR), limit=5, min_count=6)
    assert [s.term for s in side] == ["crash"]


# --- figures ------------------------------------------------------------------------------------------------------


def test_nps_figures_of_the_definitions_example() -> None:
    result = figures("nps", {10: 200, 8: 120, 3: 80})  # n = 400, p = 0.5, d = 0.2
    margin = Z_95 * 100 * math.sqrt((0.5 + 0.2 - 0.3**2) / 400)  # 195.9964 * sqrt(0.001525) = 7.6539
    # mean (2000 + 960 + 240) / 400 = 8; s^2 = (200 * 2^2 + 80 * 5^2) / 399 = 2800 / 399; half = 1.96 * s / 20
    half = Z_95 * math.sqrt(2800 / 399 / 400)  # 0.2596
    assert result == {
        "n": 400,
        "promoters": 200,
        "passives": 120,
        "detractors": 80,
        "score": 30.0,
        "margin": round(margin, 2),
        "low": round(30 - margin, 2),
        "high": round(30 + margin, 2),
        "mean": 8.0,
        "mean_low": round(8 - half, 3),
        "mean_high": round(8 + half, 3),
    }
    assert (result["margin"], result["low"], result["high"]) == (7.65, 22.35, 37.65)
    assert (result["mean_low"], result["mean_high"]) == (7.74, 8.26)


@pytest.mark.parametrize(
    ("histogram", "score", "margin", "low", "high"),
    [
        ({0: 1}, -100.0, 0.0, -100.0, -100.0),  # one detractor: no spread, bounds at -100
        ({10: 1}, 100.0, 0.0, 100.0, 100.0),
        # p = 0.1, d = 0.9: score -80, margin 1.96 * 100 * sqrt((1 - 0.64) / 10) = 37.19; -117.19 clipped to -100
        ({0: 9, 10: 1}, -80.0, 37.19, -100.0, -42.81),
        ({10: 9, 0: 1}, 80.0, 37.19, 42.81, 100.0),  # mirrored: 117.19 clipped to 100
    ],
)
def test_nps_low_and_high_stay_within_minus_100_and_100(
    histogram: dict[int, int], score: float, margin: float, low: float, high: float
) -> None:
    result = figures("nps", histogram)
    assert (result["score"], result["margin"], result["low"], result["high"]) == (score, margin, low, high)


def test_a_single_response_has_a_mean_but_no_mean_interval() -> None:
    for kind, score in (("nps", 7), ("csat", 2), ("ces", 6)):
        result = figures(kind, {score: 1})  # type: ignore[arg-type]
        assert (result["n"], result["mean"], result["mean_low"], result["mean_high"]) == (1, float(score), None, None)


def test_csat_figures_in_percent_with_wilson_bounds() -> None:
    result = figures("csat", {5: 3, 4: 1, 2: 1})  # 4 satisfied of 5
    # Wilson, z^2 = 3.8415: denominator 1 + z^2/5 = 1.7683; centre (0.8 + z^2/10) / 1.7683 = 0.6697;
    # half z * sqrt(0.16 / 5 + z^2 / 100) / 1.7683 = 0.2941 -> 37.55 % .. 96.38 %
    z2 = Z_95 * Z_95
    denominator = 1 + z2 / 5
    centre = (0.8 + z2 / 10) / denominator
    half = Z_95 * math.sqrt(0.8 * 0.2 / 5 + z2 / 100) / denominator
    # mean 21 / 5 = 4.2; s^2 = (3 * 0.8^2 + 0.2^2 + 2.2^2) / 4 = 1.7
    mean_half = Z_95 * math.sqrt(1.7 / 5)
    assert result == {
        "n": 5,
        "satisfied": 4,
        "unsatisfied": 1,
        "score": 80.0,
        "low": round(100 * (centre - half), 2),
        "high": round(100 * (centre + half), 2),
        "mean": 4.2,
        "mean_low": round(4.2 - mean_half, 3),
        "mean_high": round(4.2 + mean_half, 3),
    }
    assert (result["low"], result["high"]) == (37.55, 96.38)
    assert (result["mean_low"], result["mean_high"]) == (3.057, 5.343)


def test_ces_figures_count_agree_from_5() -> None:
    result = figures("ces", {7: 1, 5: 1, 4: 1, 1: 1})  # agree 7 and 5; disagree 4 and 1
    # 2 of 4: Wilson centre (0.5 + z^2/8) / (1 + z^2/4) = 0.5 by symmetry; score 50 %
    assert (result["n"], result["agree"], result["disagree"], result["score"]) == (4, 2, 2, 50.0)
    assert result["low"] + result["high"] == pytest.approx(100.0, abs=0.011)  # symmetric around 50 %
    assert result["mean"] == 4.25  # 17 / 4


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "nps",
            {
                "n": 0,
                "promoters": 0,
                "passives": 0,
                "detractors": 0,
                "score": None,
                "margin": None,
                "low": None,
                "high": None,
            },
        ),
        ("csat", {"n": 0, "satisfied": 0, "unsatisfied": 0, "score": None, "low": None, "high": None}),
        ("ces", {"n": 0, "agree": 0, "disagree": 0, "score": None, "low": None, "high": None}),
    ],
)
def test_an_empty_histogram_has_no_figures(kind: Kind, expected: dict[str, Any]) -> None:
    assert figures(kind, {}) == expected | {"mean": None, "mean_low": None, "mean_high": None}


def test_columns_in_answer_order() -> None:
    means = ("mean", "mean_low", "mean_high")
    nps_columns = ("n", "promoters", "passives", "detractors", "score", "margin", "low", "high")
    assert columns("nps") == (*nps_columns, *means)
    assert columns("csat") == ("n", "satisfied", "unsatisfied", "score", "low", "high", *means)
    assert columns("ces") == ("n", "agree", "disagree", "score", "low", "high", *means)


def test_by_period_weeks_start_on_monday_and_months_on_the_first() -> None:
    # 2026-03-01 is a Sunday (2026-01-01 is a Thursday, + 59 days), so its ISO week starts Monday 2026-02-23
    rows = [
        (date(2026, 2, 23), 9, 2),  # Monday
        (date(2026, 3, 1), 9, 3),  # Sunday, same week
        (date(2026, 3, 1), 4, 1),
        (date(2026, 3, 2), 9, 5),  # Monday: next week
        (date(2026, 3, 31), 0, 7),
    ]
    assert by_period(rows, "week") == {
        date(2026, 2, 23): Counter({9: 5, 4: 1}),
        date(2026, 3, 2): Counter({9: 5}),
        date(2026, 3, 30): Counter({0: 7}),  # 2026-03-31 is a Tuesday
    }
    assert by_period(rows, "month") == {
        date(2026, 2, 1): Counter({9: 2}),
        date(2026, 3, 1): Counter({9: 8, 4: 1, 0: 7}),
    }
    assert by_period(rows, "day")[date(2026, 3, 1)] == Counter({9: 3, 4: 1})
    assert by_period([], "week") == {}


# --- response rows ------------------------------------------------------------------------------------------------


def _response(
    minute: int = 0,
    *,
    distinct_id: str = "u-1",
    project: str = "acme",
    kind: Kind = "nps",
    score: int = 9,
    comment: str | None = None,
    timestamp: datetime | None = None,
    **fields: Any,
) -> FeedbackResponded:
    return FeedbackResponded(
        event_id=uuid4(),
        project=project,
        received_at=_at(minute),
        distinct_id=distinct_id,
        kind=kind,
        score=score,
        comment=comment,
        timestamp=timestamp or _at(minute),
        **fields,
    )


def _deleted(distinct_id: str = "u-1", project: str = "acme", minute: int = 0) -> UserDeleted:
    return UserDeleted(event_id=uuid4(), project=project, received_at=_at(minute), distinct_id=distinct_id)


@pytest.mark.parametrize(
    ("kind", "score", "side"),
    [
        ("nps", 0, "bad"),
        ("nps", 6, "bad"),
        ("nps", 7, "neutral"),
        ("nps", 8, "neutral"),
        ("nps", 9, "good"),
        ("nps", 10, "good"),
        ("csat", 1, "bad"),
        ("csat", 3, "bad"),
        ("csat", 4, "good"),
        ("csat", 5, "good"),
        ("ces", 1, "bad"),
        ("ces", 4, "bad"),  # CES has no neutral side
        ("ces", 5, "good"),
        ("ces", 7, "good"),
    ],
)
def test_side_of_at_class_boundaries(kind: Kind, score: int, side: str) -> None:
    assert side_of(kind, score) == side


@pytest.mark.parametrize(
    ("timestamp", "day", "day_end"),
    [
        # 2026-03-29 in Berlin starts 2026-03-28T23:00Z (CET, +1) and ends 2026-03-29T22:00Z (CEST, +2): 23 hours
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 29), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), date(2026, 3, 29), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
        (datetime(2026, 3, 28, 22, 59, tzinfo=UTC), date(2026, 3, 28), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
        # 22:00Z on the 29th is already midnight of the 30th (CEST): that day ends 24 hours later
        (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), date(2026, 3, 30), datetime(2026, 3, 30, 22, 0, tzinfo=UTC)),
    ],
)
def test_response_row_local_day_and_day_end_across_dst(timestamp: datetime, day: date, day_end: datetime) -> None:
    row = response_row(_response(timestamp=timestamp), BERLIN)
    assert (row.day, row.day_end, row.responded_at) == (day, day_end, timestamp)
    assert row.day_end.utcoffset() == timedelta(0)


def test_response_row_copies_the_event() -> None:
    event = _response(
        5,
        kind="csat",
        score=3,
        comment="  too slow \n",
        user_id="user-7",
        anonymous_id="anon-7",
        feature="export",
        release="app@2.0",
        channel="web",
        survey="q1",
        properties={"plan": "pro", "seats": 3},
    )
    row = response_row(event, ZoneInfo("UTC"))
    assert (row.project, row.response_id, row.kind, row.score, row.side) == ("acme", event.event_id, "csat", 3, "bad")
    assert (row.distinct_id, row.user_id, row.anonymous_id) == ("u-1", "user-7", "anon-7")
    assert (row.feature, row.release, row.channel, row.survey) == ("export", "app@2.0", "web", "q1")
    assert row.comment == "too slow"
    assert json.loads(row.properties) == {"plan": "pro", "seats": 3}
    assert row.received_at == _at(5)
    assert (row.day, row.day_end) == (date(2026, 3, 1), datetime(2026, 3, 2, tzinfo=UTC))
    assert row.dimension_values() == (
        ("", ""),
        ("feature", "export"),
        ("release", "app@2.0"),
        ("channel", "web"),
        ("survey", "q1"),
    )


@pytest.mark.parametrize(("comment", "stored"), [(None, None), ("", None), ("   \n\t", None), (" ok ", "ok")])
def test_response_row_comment_is_stripped_and_blank_is_none(comment: str | None, stored: str | None) -> None:
    assert response_row(_response(comment=comment), BERLIN).comment == stored


def test_dimension_values_give_empty_string_for_none() -> None:
    assert dimension_values(None, "r1", None, "") == (
        ("", ""),
        ("feature", ""),
        ("release", "r1"),
        ("channel", ""),
        ("survey", ""),
    )


def test_score_day_changes_add_one_per_group_or_remove_one() -> None:
    day = date(2026, 3, 1)
    dims_a = dimension_values("export", None, "web", None)
    dims_b = dimension_values("import", None, "web", None)
    rows = [("acme", "nps", day, 9, dims_a), ("acme", "nps", day, 9, dims_b)]
    # total and channel web and the empty release / survey are shared by both rows: 2 each; features 1 each
    assert score_day_changes(rows, 1) == Counter(
        {
            ("acme", "nps", "", "", day, 9): 2,
            ("acme", "nps", "feature", "export", day, 9): 1,
            ("acme", "nps", "feature", "import", day, 9): 1,
            ("acme", "nps", "release", "", day, 9): 2,
            ("acme", "nps", "channel", "web", day, 9): 2,
            ("acme", "nps", "survey", "", day, 9): 2,
        }
    )
    erased = score_day_changes(rows[:1], -1)
    assert erased[("acme", "nps", "", "", day, 9)] == -1
    assert erased[("acme", "nps", "feature", "export", day, 9)] == -1
    assert len(erased) == 5
    assert score_day_changes([], 1) == Counter()


def test_surviving_responses_drop_what_precedes_a_deletion_in_the_batch() -> None:
    before = _response(1, distinct_id="u-1")
    other_user = _response(2, distinct_id="u-2")
    other_project = _response(3, distinct_id="u-1", project="beta")
    after = _response(5, distinct_id="u-1")
    events: list[FeedbackStreamEvent] = [before, other_user, other_project, _deleted("u-1", minute=4), after]
    kept, erased = surviving_responses(events)
    assert kept == [other_user, other_project, after]
    assert erased == [("acme", "u-1")]


def test_surviving_responses_use_the_last_deletion_of_a_user() -> None:
    between = _response(2)
    last = _response(4)
    events: list[FeedbackStreamEvent] = [
        _deleted("u-9", minute=0),
        _deleted("u-1", minute=1),
        between,
        _deleted("u-1", minute=3),
        last,
    ]
    kept, erased = surviving_responses(events)
    assert kept == [last]
    assert erased == [("acme", "u-1"), ("acme", "u-9")]  # sorted
    assert surviving_responses([]) == ([], [])


# --- usage context ------------------------------------------------------------------------------------------------


def _usage(
    minute: int,
    type_: str,
    *,
    distinct_id: str = "u-1",
    project: str = "acme",
    name: str | None = None,
    traits: dict[str, Any] | None = None,
) -> UsageEventRecorded:
    return UsageEventRecorded(
        event_id=uuid4(),
        project=project,
        received_at=_at(minute),
        type=type_,  # type: ignore[arg-type]
        name=name,
        distinct_id=distinct_id,
        timestamp=_at(minute),
        traits=traits or {},
    )


def _feature(event: UsageEventRecorded) -> str | None:
    return {"Export Clicked": "export", "/reports": "reports"}.get(event.name or "")


def test_context_changes_collect_traits_and_earliest_first_use() -> None:
    events: list[UsageStreamEvent] = [
        _usage(5, "track", name="Export Clicked"),
        _usage(2, "page", name="Export Clicked"),  # earlier, arriving later: first use is the minimum
        _usage(3, "screen", name="/reports"),
        _usage(4, "track", name="Unknown"),  # no feature
        _usage(6, "identify", traits={"plan": "pro", "seats": 3}),
        _usage(7, "group", name="Export Clicked"),  # not an active type
    ]
    changes = context_changes(events, _feature)
    assert changes.first_use == {("acme", "export", "u-1"): _at(2), ("acme", "reports", "u-1"): _at(3)}
    assert changes.traits == {("acme", "u-1", "plan", _at(6)): '"pro"', ("acme", "u-1", "seats", _at(6)): "3"}
    assert changes.erased == set()


def test_context_changes_drop_what_precedes_a_deletion_and_keep_what_follows() -> None:
    events: list[UsageStreamEvent] = [
        _usage(1, "identify", traits={"plan": "free"}),
        _usage(2, "track", name="Export Clicked"),
        _usage(2, "identify", distinct_id="u-2", traits={"plan": "team"}),
        _usage(2, "track", distinct_id="u-2", name="Export Clicked"),
        _usage(2, "identify", project="beta", traits={"plan": "beta"}),  # same id, other project
        _usage(2, "track", project="beta", name="/reports"),
        _deleted("u-1", minute=3),
        _usage(4, "identify", traits={"plan": "pro"}),
        _usage(5, "page", name="/reports"),
    ]
    changes = context_changes(events, _feature)
    assert changes.erased == {("acme", "u-1")}
    assert changes.traits == {
        ("acme", "u-2", "plan", _at(2)): '"team"',
        ("beta", "u-1", "plan", _at(2)): '"beta"',
        ("acme", "u-1", "plan", _at(4)): '"pro"',
    }
    assert changes.first_use == {
        ("acme", "export", "u-2"): _at(2),
        ("beta", "reports", "u-1"): _at(2),
        ("acme", "reports", "u-1"): _at(5),
    }


# --- crashes ------------------------------------------------------------------------------------------------------


def _state(status: str, distinct_id: str | None = "u-1") -> SessionState:
    return SessionState(
        release="app@1.0",
        environment="production",
        distinct_id=distinct_id,
        started=T0,
        status=status,
        errors=0,
        updated_at=T0,
    )


@pytest.mark.parametrize(
    ("before", "after", "counts"),
    [
        (None, _state("crashed"), True),  # a session first seen crashed
        (_state("ok"), _state("crashed"), True),
        (_state("ok", None), _state("crashed"), True),  # the user became known with the crash
        (_state("crashed"), _state("crashed"), False),  # already counted
        (None, _state("crashed", None), False),  # no user to count
        (_state("ok", None), _state("crashed", None), False),
        (None, _state("ok"), False),
        (_state("ok"), _state("exited"), False),
        (_state("ok"), _state("abnormal"), False),
    ],
)
def test_crashed_now_only_on_the_transition_into_crashed_with_a_user(
    before: SessionState | None, after: SessionState, counts: bool
) -> None:
    assert crashed_now(before, after) is counts


def _session(minute: int, distinct_id: str | None, project: str = "acme") -> SessionUpdated:
    return SessionUpdated(
        event_id=uuid4(),
        project=project,
        received_at=_at(minute),
        session_id=f"s-{minute}",
        distinct_id=distinct_id,
        started=_at(minute),
        timestamp=_at(minute),
        status="crashed",
        release="app@1.0",
    )


def _aggregate(minute: int, distinct_id: str | None) -> SessionsAggregated:
    return SessionsAggregated(
        event_id=uuid4(),
        project="acme",
        received_at=_at(minute),
        started=_at(minute),
        release="app@1.0",
        distinct_id=distinct_id,
        crashed=1,
    )


def test_after_deletions_drop_a_users_sessions_before_their_deletion() -> None:
    before = _session(1, "u-1")
    aggregate_before = _aggregate(2, "u-1")
    anonymous = _session(3, None)
    anonymous_aggregate = _aggregate(3, None)
    other_user = _session(4, "u-2")
    other_project = _session(5, "u-1", project="beta")
    deletion = _deleted("u-1", minute=6)
    after = _session(7, "u-1")
    aggregate_after = _aggregate(8, "u-1")
    events: Sequence[SessionStreamEvent] = [
        before,
        aggregate_before,
        anonymous,
        anonymous_aggregate,
        other_user,
        other_project,
        deletion,
        after,
        aggregate_after,
    ]
    assert after_deletions(events) == [
        anonymous,
        anonymous_aggregate,
        other_user,
        other_project,
        deletion,
        after,
        aggregate_after,
    ]
    assert after_deletions([]) == []


# --- response filter ----------------------------------------------------------------------------------------------


def _filter(**fields: Any) -> ResponseFilter:
    return ResponseFilter("acme", "nps", date(2026, 3, 1), date(2026, 3, 31), **fields)


@pytest.mark.parametrize(
    ("fields", "group"),
    [
        ({}, ("", "")),
        ({"feature": "export"}, ("feature", "export")),
        ({"release": "app@2.0"}, ("release", "app@2.0")),
        ({"channel": "web"}, ("channel", "web")),
        ({"survey": "q1"}, ("survey", "q1")),
        ({"feature": "export", "channel": "web"}, None),  # filters combine: no rollup group holds exactly these
        ({"release": "app@2.0", "survey": "q1"}, None),
        ({"segment": Segment("plan", "pro")}, ("trait:plan", "pro")),  # a segment alone: its trait's rollup
        ({"segment": Segment("plan", "p" * 200)}, ("trait:plan", "p" * 200)),
        ({"segment": Segment("plan", "p" * 201)}, None),  # longer than rolled-up values: matched row by row
        ({"feature": "export", "segment": Segment("plan", "pro")}, None),
    ],
)
def test_rollup_group(fields: dict[str, Any], group: tuple[str, str] | None) -> None:
    assert _filter(**fields).rollup_group() == group


def test_row_conditions_number_parameters_from_the_first_given() -> None:
    assert _filter().row_conditions(5) == ("", [])
    assert _filter(channel="web").row_conditions(5) == (" AND r.channel = $5", ["web"])
    assert _filter(feature="export", survey="q1").row_conditions(4) == (
        " AND r.feature = $4 AND r.survey = $5",
        ["export", "q1"],
    )
    assert _filter(segment=Segment("plan", "pro")).row_conditions(5) == (
        " AND r.traits ->> $5::text = $6::text",
        ["plan", "pro"],
    )
    everything = _filter(feature="f", release="r", channel="c", survey="s", segment=Segment("plan", "pro"))
    assert everything.row_conditions(3) == (
        " AND r.feature = $3 AND r.release = $4 AND r.channel = $5 AND r.survey = $6"
        " AND r.traits ->> $7::text = $8::text",
        ["f", "r", "c", "s", "plan", "pro"],
    )


# --- verbatim cursors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "responded_at",
    [
        datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),
        datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ],
)
def test_position_round_trip(responded_at: datetime) -> None:
    position = Position(responded_at, UUID("12345678-1234-5678-1234-567812345678"))
    cursor = position.encode()
    assert "=" not in cursor  # padding stripped
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # url-safe
    decoded = Position.decode(cursor)
    assert decoded == position
    assert decoded.responded_at.utcoffset() == responded_at.utcoffset()


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


UUID_TEXT = "12345678-1234-5678-1234-567812345678"


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "abc",  # decodes to bytes that are not UTF-8
        "a",  # not a whole base64 quantum
        _cursor(b"not json"),
        _cursor(b"5"),  # JSON, not a pair
        _cursor(b"[1]"),
        _cursor(json.dumps(["2026-03-01T12:00:00+00:00", UUID_TEXT, "extra"]).encode()),
        _cursor(json.dumps([None, UUID_TEXT]).encode()),
        _cursor(json.dumps(["yesterday", UUID_TEXT]).encode()),
        _cursor(json.dumps(["2026-03-01T12:00:00+00:00", "not-a-uuid"]).encode()),
        _cursor(json.dumps(["2026-03-01T12:00:00", UUID_TEXT]).encode()),  # naive: no instant
    ],
)
def test_garbage_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        Position.decode(cursor)


@pytest.mark.parametrize("response_id", [5, ["x"], {"id": 1}])
def test_a_cursor_whose_id_is_not_a_string_is_invalid(response_id: object) -> None:
    # A cursor is client input; anything that is not a (time, id) pair of strings must be a 400 (InvalidCursor),
    # not an unexpected error.
    cursor = _cursor(json.dumps(["2026-03-01T12:00:00+00:00", response_id]).encode())
    with pytest.raises(InvalidCursor):
        Position.decode(cursor)


# --- tsquery of a term --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "query"),
    [
        ("slow", "'slow'"),
        ("load time", "'load' <-> 'time'"),
        ("too many clicks", "'too' <-> 'many' <-> 'clicks'"),
        ("don't", "'don''t'"),
        ("it's o'k", "'it''s' <-> 'o''k'"),
        ("a\\b", "'a\\\\b'"),  # a backslash is doubled too
    ],
)
def test_term_query_quotes_lexemes_and_joins_phrases(term: str, query: str) -> None:
    assert term_query(term) == query
