"""build_feedback (product.md §6): one NPS / CSAT / CES response in, a FeedbackResponded or a Rejection out."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse_common.events import FeedbackResponded
from pulse_common.identity import event_id_for
from pulse_ingest.feedback import SCALES, FeedbackContext, build_feedback
from pulse_ingest.rejections import Rejection
from pulse_ingest.segment import time_rules

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
RULES = time_rules(60, 86400, 30)
MAX_EVENT_BYTES = 32 * 1024


def _ctx(
    *, project: str = "acme", sent_at: datetime | None = None, max_event_bytes: int = MAX_EVENT_BYTES
) -> FeedbackContext:
    return FeedbackContext(
        project=project, received_at=RECEIVED, sent_at=sent_at, rules=RULES, max_event_bytes=max_event_bytes
    )


def _response(**overrides: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"kind": "nps", "score": 9, "messageId": "fb-1", "userId": "u-1"}
    response.update(overrides)
    return response


def _raw(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def _accepted(response: dict[str, Any], ctx: FeedbackContext | None = None) -> FeedbackResponded:
    outcome = build_feedback(0, _raw(response), ctx or _ctx())
    assert isinstance(outcome, FeedbackResponded), outcome
    return outcome


def _rejected(raw: bytes, ctx: FeedbackContext | None = None, index: int = 0) -> Rejection:
    outcome = build_feedback(index, raw, ctx or _ctx())
    assert isinstance(outcome, Rejection), outcome
    return outcome


def test_scales() -> None:
    assert SCALES == {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def test_full_response_is_mapped() -> None:
    event = _accepted(
        _response(
            kind="csat",
            score=4,
            anonymousId="anon-1",
            comment="  Great docs!  ",
            feature=" export ",
            release="app@1.2.3",
            channel="in_app",
            survey="q1-2026",
            properties={"page": "/billing"},
            timestamp="2026-03-01T11:00:00Z",
        )
    )
    assert event == FeedbackResponded(
        event_id=event_id_for("acme", "feedback\x00fb-1"),
        project="acme",
        received_at=RECEIVED,
        message_id="fb-1",
        distinct_id="u-1",
        user_id="u-1",
        anonymous_id="anon-1",
        kind="csat",
        score=4,
        comment="Great docs!",
        feature="export",
        release="app@1.2.3",
        channel="in_app",
        survey="q1-2026",
        properties={"page": "/billing"},
        timestamp=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
    )


def test_minimal_response_defaults() -> None:
    event = _accepted({"kind": "ces", "score": 5, "anonymousId": "anon-7"})
    assert event.message_id is None
    assert (event.distinct_id, event.user_id, event.anonymous_id) == ("anon-7", None, "anon-7")
    assert (event.comment, event.feature, event.release, event.channel, event.survey) == (None,) * 5
    assert event.properties == {}
    # No timestamp: the response is dated at its arrival.
    assert event.timestamp == RECEIVED
    assert event.event_id.version == 4


@pytest.mark.parametrize(
    ("kind", "score"),
    [
        ("nps", 0),
        ("nps", 10),
        ("nps", 5),
        ("csat", 1),
        ("csat", 5),
        ("ces", 1),
        ("ces", 7),
    ],
)
def test_scores_on_the_scale_are_accepted(kind: str, score: int) -> None:
    event = _accepted(_response(kind=kind, score=score))
    assert (event.kind, event.score) == (kind, score)


@pytest.mark.parametrize(
    ("kind", "score", "scale"),
    [
        ("nps", -1, "0-10"),
        ("nps", 11, "0-10"),
        ("csat", 0, "1-5"),
        ("csat", 6, "1-5"),
        ("ces", 0, "1-7"),
        ("ces", 8, "1-7"),
        ("nps", 100, "0-10"),
        ("csat", -5, "1-5"),
    ],
)
def test_scores_off_the_scale_are_rejected(kind: str, score: int, scale: str) -> None:
    raw = _raw(_response(kind=kind, score=score))
    rejection = _rejected(raw, index=3)
    assert rejection == Rejection(
        3, "fb-1", "score_out_of_range", f"score {score} is outside the {kind} scale {scale}", raw
    )


@pytest.mark.parametrize("kind", ["NPS", "csat ", "star", "", "ces7"])
def test_unknown_kind_is_rejected(kind: str) -> None:
    raw = _raw(_response(kind=kind, score=3))
    rejection = _rejected(raw, index=1)
    assert rejection == Rejection(1, "fb-1", "unknown_kind", f"kind {kind!r} is not one of nps, csat, ces", raw)


@pytest.mark.parametrize(
    ("response", "path"),
    [
        pytest.param(_response(score=9.0), "$.score", id="integral-float-score"),
        pytest.param(_response(score=8.5), "$.score", id="float-score"),
        pytest.param(_response(score="9"), "$.score", id="string-score"),
        pytest.param(_response(score=None), "$.score", id="null-score"),
        pytest.param(_response(score=True), "$.score", id="bool-score"),
        pytest.param({"kind": "nps", "messageId": "fb-1", "userId": "u-1"}, "`score`", id="no-score"),
        pytest.param({"score": 9, "messageId": "fb-1", "userId": "u-1"}, "`kind`", id="no-kind"),
        pytest.param(_response(kind=3), "$.kind", id="kind-not-string"),
        pytest.param(_response(timestamp="soon"), "$.timestamp", id="bad-timestamp"),
        pytest.param(_response(properties=[1]), "$.properties", id="properties-not-object"),
    ],
)
def test_invalid_responses_still_name_the_message_id(response: dict[str, Any], path: str) -> None:
    raw = _raw(response)
    rejection = _rejected(raw, index=6)
    assert (rejection.index, rejection.message_id, rejection.code, rejection.payload) == (
        6,
        "fb-1",
        "invalid_response",
        raw,
    )
    assert path in rejection.message


@pytest.mark.parametrize("raw", [b"not json", b"[1]", b'"text"', b"{"])
def test_undecodable_responses(raw: bytes) -> None:
    rejection = _rejected(raw)
    assert (rejection.message_id, rejection.code, rejection.payload) == (None, "invalid_response", raw)


@pytest.mark.parametrize(
    "identity",
    [
        pytest.param({}, id="none"),
        pytest.param({"userId": None, "anonymousId": None}, id="nulls"),
        pytest.param({"userId": "", "anonymousId": "   "}, id="blank"),
    ],
)
def test_missing_identity_is_rejected(identity: dict[str, Any]) -> None:
    raw = _raw({"kind": "nps", "score": 9, "messageId": "fb-1", **identity})
    assert _rejected(raw) == Rejection(0, "fb-1", "missing_identity", "userId or anonymousId is required", raw)


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        pytest.param({"userId": "u-1"}, ("u-1", "u-1", None), id="user-id"),
        pytest.param({"anonymousId": "a-1"}, ("a-1", None, "a-1"), id="anonymous-id"),
        pytest.param({"userId": "u-1", "anonymousId": "a-1"}, ("u-1", "u-1", "a-1"), id="user-id-wins"),
        pytest.param({"userId": " ", "anonymousId": "a-1"}, ("a-1", None, "a-1"), id="blank-user-id"),
        pytest.param({"userId": 42}, ("42", "42", None), id="int-user-id"),
        pytest.param({"userId": "  u-1 "}, ("u-1", "u-1", None), id="stripped"),
    ],
)
def test_identity(identity: dict[str, Any], expected: tuple[str, str | None, str | None]) -> None:
    event = _accepted({"kind": "nps", "score": 9, **identity})
    assert (event.distinct_id, event.user_id, event.anonymous_id) == expected


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        pytest.param("Love it", "Love it", id="plain"),
        pytest.param("  Love it \n", "Love it", id="stripped"),
        pytest.param("line 1\nline 2", "line 1\nline 2", id="inner-newline-kept"),
        pytest.param("", None, id="empty"),
        pytest.param("   \t\n", None, id="blank"),
        pytest.param(None, None, id="null"),
    ],
)
def test_comment(comment: str | None, expected: str | None) -> None:
    assert _accepted(_response(comment=comment)).comment == expected


def test_event_ids_are_deterministic_by_project_and_message_id() -> None:
    first = _accepted(_response(score=9))
    # A retry of the same messageId is the same response, whatever it carries.
    retry = _accepted(_response(score=3, comment="changed my mind"))
    other_message = _accepted(_response(messageId="fb-2"))
    other_project = _accepted(_response(), _ctx(project="globex"))
    assert first.event_id == retry.event_id == event_id_for("acme", "feedback\x00fb-1")
    assert first.event_id.version == 5
    assert len({first.event_id, other_message.event_id, other_project.event_id}) == 3


def test_feedback_id_differs_from_a_usage_event_id_for_the_same_message_id() -> None:
    assert _accepted(_response()).event_id != event_id_for("acme", "fb-1")


def test_responses_without_message_id_get_fresh_ids() -> None:
    response = {"kind": "nps", "score": 9, "userId": "u-1"}
    assert _accepted(response).event_id != _accepted(response).event_id


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "expected"),
    [
        pytest.param("2026-03-01T11:00:00Z", None, datetime(2026, 3, 1, 11, 0, tzinfo=UTC), id="kept"),
        pytest.param(
            "2026-03-01T11:00:00Z",
            RECEIVED + timedelta(hours=1),
            datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
            id="drift-corrected",
        ),
        pytest.param(
            "2026-03-01T11:00:00Z",
            RECEIVED + timedelta(seconds=30),
            datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
            id="small-drift-kept",
        ),
        pytest.param("2026-01-30T12:00:00Z", None, datetime(2026, 1, 30, 12, 0, tzinfo=UTC), id="30-days-old"),
    ],
)
def test_event_time(timestamp: str, sent_at: datetime | None, expected: datetime) -> None:
    assert _accepted(_response(timestamp=timestamp), _ctx(sent_at=sent_at)).timestamp == expected


@pytest.mark.parametrize(
    ("timestamp", "code"),
    [
        pytest.param("2026-01-30T11:59:59Z", "timestamp_too_old", id="30d-1s-old"),
        pytest.param("2026-03-02T12:00:01Z", "timestamp_in_future", id="1d-1s-ahead"),
    ],
)
def test_out_of_range_times_are_rejected(timestamp: str, code: str) -> None:
    raw = _raw(_response(timestamp=timestamp))
    rejection = _rejected(raw)
    assert (rejection.message_id, rejection.code, rejection.payload) == ("fb-1", code, raw)


def test_oversize_response_is_rejected() -> None:
    raw = _raw(_response(comment="x" * 200))
    rejection = _rejected(raw, _ctx(max_event_bytes=100), index=2)
    assert (rejection.index, rejection.code) == (2, "event_too_large")
    assert rejection.message == f"response is {len(raw)} bytes; the limit is 100"
    # The dead letter keeps at most the limit's worth of bytes.
    assert rejection.payload == raw[:100]


def test_response_of_exactly_the_limit_is_accepted() -> None:
    raw = _raw(_response(comment="x" * 100))
    outcome = build_feedback(0, raw, _ctx(max_event_bytes=len(raw)))
    assert isinstance(outcome, FeedbackResponded)


def test_oversize_rejection_names_the_message_id() -> None:
    # Every rejection in the receipt names the messageId when it can be read (product.md §7), as the usage path
    # does for an oversize event.
    raw = _raw(_response(comment="x" * 200))
    assert _rejected(raw, _ctx(max_event_bytes=100)).message_id == "fb-1"
