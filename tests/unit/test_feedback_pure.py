"""The pure parts of the feedback service, pinned to hand-computed values: themes (weighted log-odds with an
informative Dirichlet prior), the figures of a histogram, a response's row and rollup keys, batch order with
deletions, and the verbatims cursor."""

import math
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from pulse_common.events import FeedbackResponded, SessionUpdated, UserDeleted
from pulse_common.http.reads import Segment
from pulse_feedback.figures import by_period, columns, figures
from pulse_feedback.projections.crashes import after_deletions
from pulse_feedback.projections.response_rows import response_row, score_day_changes, side_of, surviving_responses
from pulse_feedback.queries.filters import ResponseFilter
from pulse_feedback.queries.themes import term_query
from pulse_feedback.queries.verbatims import InvalidCursor, Position
from pulse_feedback.themes import weighted_log_odds

T0 = datetime(2026, 3, 29, 10, tzinfo=UTC)


def feedback(user: str, score: int = 9, kind: str = "nps", comment: str | None = None) -> FeedbackResponded:
    return FeedbackResponded(
        event_id=uuid.uuid4(),
        project="acme",
        received_at=T0,
        distinct_id=user,
        kind=kind,  # type: ignore[arg-type]
        score=score,
        comment=comment,
        feature="export",
        timestamp=T0,
    )


def deleted(user: str) -> UserDeleted:
    return UserDeleted(event_id=uuid.uuid4(), project="acme", received_at=T0, distinct_id=user)


# bad: crash 3, app 2 (n = 5); good: fast 2, app 2 (n = 4); prior = both: crash 3, app 4, fast 2 (a0 = 9).
BAD = {"crash": 3, "app": 2}
GOOD = {"fast": 2, "app": 2}
PRIOR = {"crash": 3, "app": 4, "fast": 2}


def test_weighted_log_odds_equal_the_hand_computation() -> None:
    scores = weighted_log_odds(BAD, GOOD, PRIOR)
    # crash: log(6 / (5 + 9 - 3 - 3)) - log(3 / (4 + 9 - 0 - 3)) = log(2.5); var = 1/6 + 1/3
    assert scores["crash"].delta == pytest.approx(math.log(2.5))
    assert scores["crash"].z == pytest.approx(math.log(2.5) / math.sqrt(0.5))
    assert (scores["crash"].count, scores["crash"].other_count) == (3, 0)
    # fast: log(2 / 12) - log(4 / 9) = log(0.375); var = 1/2 + 1/4
    assert scores["fast"].z == pytest.approx(math.log(0.375) / math.sqrt(0.75))
    # app: log(6 / 8) - log(6 / 7) = log(7 / 8); var = 1/6 + 1/6
    assert scores["app"].z == pytest.approx(math.log(7 / 8) / math.sqrt(1 / 3))


def test_the_prior_shrinks_rare_terms() -> None:
    # The same 3:0 lean seen in 3 comments and in 60: the larger count is surer (higher z).
    rare = weighted_log_odds({"a": 3, "x": 100}, {"x": 100}, {"a": 3, "x": 200})["a"].z
    common = weighted_log_odds({"a": 60, "x": 100}, {"x": 100}, {"a": 60, "x": 200})["a"].z
    assert 0 < rare < common


def test_nps_figures_of_the_product_example() -> None:
    result = figures("nps", {10: 200, 8: 120, 3: 80})
    assert (result["n"], result["promoters"], result["passives"], result["detractors"]) == (400, 200, 120, 80)
    assert result["score"] == 30.0
    # 1.96 * 100 * sqrt((0.5 + 0.2 - 0.3^2) / 400) = 7.65
    assert result["margin"] == pytest.approx(1.959963984540054 * 100 * math.sqrt(0.61 / 400), abs=0.005)
    assert (result["low"], result["high"]) == (pytest.approx(30 - 7.65, abs=0.01), pytest.approx(37.65, abs=0.01))


def test_nps_interval_stays_within_the_scale() -> None:
    # All 3 detractors: NPS -100 with a zero margin (p + d - (p - d)^2 = 0): low = high = -100.
    result = figures("nps", {0: 3})
    assert (result["score"], result["margin"], result["low"], result["high"]) == (-100.0, 0.0, -100.0, -100.0)


def test_csat_figures_in_percent_with_wilson_and_mean_intervals() -> None:
    result = figures("csat", {5: 3, 4: 1, 2: 1})
    assert (result["n"], result["satisfied"], result["unsatisfied"], result["score"]) == (5, 4, 1, 80.0)
    # Wilson 4/5: centre (0.8 + z^2/10) / (1 + z^2/5) = 0.6697, half 0.2941
    assert result["low"] == pytest.approx(37.55, abs=0.01)
    assert result["high"] == pytest.approx(96.38, abs=0.01)
    # mean 4.2, s^2 = (3 * 0.64 + 0.04 + 4.84) / 4 = 1.7, half = 1.96 * sqrt(1.7 / 5) = 1.143
    assert (result["mean"], result["mean_low"], result["mean_high"]) == (4.2, 3.057, 5.343)


def test_empty_and_single_response_figures() -> None:
    empty = figures("ces", {})
    assert empty["n"] == 0
    assert all(empty[k] is None for k in ("score", "low", "high", "mean", "mean_low", "mean_high"))
    one = figures("ces", {6: 1})
    assert (one["agree"], one["score"], one["mean"], one["mean_low"]) == (1, 100.0, 6.0, None)
    assert columns("ces")[:3] == ("n", "agree", "disagree")


def test_periods_start_on_monday_and_on_the_first() -> None:
    rows = [(date(2026, 3, 29), 9, 2), (date(2026, 3, 30), 3, 1), (date(2026, 4, 1), 9, 1)]
    assert by_period(rows, "week") == {date(2026, 3, 23): {9: 2}, date(2026, 3, 30): {3: 1, 9: 1}}
    assert by_period(rows, "month") == {date(2026, 3, 1): {9: 2, 3: 1}, date(2026, 4, 1): {9: 1}}


@pytest.mark.parametrize(
    ("kind", "score", "side"),
    [
        ("nps", 6, "bad"),
        ("nps", 7, "neutral"),
        ("nps", 8, "neutral"),
        ("nps", 9, "good"),
        ("csat", 3, "bad"),
        ("csat", 4, "good"),
        ("ces", 4, "bad"),
        ("ces", 5, "good"),
    ],
)
def test_sides_at_the_class_boundaries(kind: str, score: int, side: str) -> None:
    assert side_of(kind, score) == side  # type: ignore[arg-type]


def test_a_response_row_on_a_23_hour_day() -> None:
    row = response_row(feedback("ana", comment="  "), ZoneInfo("Europe/Berlin"))
    # 2026-03-29 is the spring-forward day in Berlin: it ends at 00:00 CEST = 22:00 UTC.
    assert (row.day, row.day_end) == (date(2026, 3, 29), datetime(2026, 3, 29, 22, tzinfo=UTC))
    assert row.comment is None
    assert score_day_changes([(row.project, row.kind, row.day, row.score, row.dimension_values())], -1) == {
        ("acme", "nps", "", "", date(2026, 3, 29), 9): -1,
        ("acme", "nps", "feature", "export", date(2026, 3, 29), 9): -1,
        ("acme", "nps", "release", "", date(2026, 3, 29), 9): -1,
        ("acme", "nps", "channel", "", date(2026, 3, 29), 9): -1,
        ("acme", "nps", "survey", "", date(2026, 3, 29), 9): -1,
    }


def test_a_deletion_erases_what_its_user_did_before_it_in_the_batch() -> None:
    before, other, after = feedback("ana"), feedback("bo"), feedback("ana")
    kept, erased = surviving_responses([before, other, deleted("ana"), after])
    assert kept == [other, after]
    assert erased == [("acme", "ana")]
    crash = SessionUpdated(
        event_id=uuid.uuid4(),
        project="acme",
        received_at=T0,
        session_id="s1",
        distinct_id="ana",
        started=T0,
        timestamp=T0,
        status="crashed",
        release="1.0",
    )
    deletion = deleted("ana")
    assert after_deletions([crash, deletion]) == [deletion]
    assert after_deletions([deletion, crash]) == [deletion, crash]


def test_a_filter_reads_a_rollup_only_when_one_group_holds_it() -> None:
    window = ("acme", "nps", date(2026, 3, 1), date(2026, 3, 31))
    assert ResponseFilter(*window).rollup_group() == ("", "")
    assert ResponseFilter(*window, release="2.0").rollup_group() == ("release", "2.0")
    assert ResponseFilter(*window, feature="export", channel="email").rollup_group() is None
    segmented = ResponseFilter(*window, survey="q4", segment=Segment("plan", "pro"))
    assert segmented.rollup_group() is None
    assert segmented.row_conditions(5) == (
        " AND r.survey = $5 AND r.traits ->> $6::text = $7::text",
        ["q4", "plan", "pro"],
    )


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    position = Position(datetime(2026, 3, 29, 10, 5, tzinfo=UTC), uuid.UUID(int=7))
    assert Position.decode(position.encode()) == position
    for garbage in ("", "abc", "bm90IGpzb24", Position(datetime(2026, 3, 29), uuid.UUID(int=7)).encode()):
        with pytest.raises(InvalidCursor):
            Position.decode(garbage)


def test_term_queries_quote_lexemes() -> None:
    assert term_query("crash") == "'crash'"
    assert term_query("o'clock sync") == "'o''clock' <-> 'sync'"
