"""rejection_rows: the ingest rejections kept per project for the retention window (metrics.rejections rows)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pulse_common.events import DeadLetter
from pulse_metrics.projections.rejections import SAMPLE_BYTES, rejection_rows

NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
RETAINED_AFTER = NOW - timedelta(days=7)


def _letter(
    *,
    origin: str = "ingest",
    project: str | None = "acme",
    failed_at: datetime = NOW,
    payload: bytes = b'{"event":"x"}',
    n: int = 1,
) -> DeadLetter:
    return DeadLetter(
        event_id=uuid.UUID(int=n),
        origin=origin,
        code="missing_identity",
        reason="userId or anonymousId is required",
        failed_at=failed_at,
        project=project,
        message_id=f"m-{n}",
        stream="usage",
        payload=payload,
    )


def test_row_layout() -> None:
    assert rejection_rows([_letter()], retained_after=RETAINED_AFTER) == [
        (
            uuid.UUID(int=1),
            "acme",
            NOW,
            "missing_identity",
            "usage",
            "m-1",
            "userId or anonymousId is required",
            '{"event":"x"}',
        )
    ]


def test_optional_fields_are_none() -> None:
    letter = DeadLetter(event_id=uuid.UUID(int=9), origin="ingest", code="c", reason="r", failed_at=NOW, project="acme")
    assert rejection_rows([letter], retained_after=RETAINED_AFTER) == [
        (uuid.UUID(int=9), "acme", NOW, "c", None, None, "r", "")
    ]


@pytest.mark.parametrize(
    ("letter", "kept"),
    [
        pytest.param(_letter(), True, id="ingest-with-project"),
        pytest.param(_letter(origin="metrics.usage"), False, id="consumer-poison-message"),
        pytest.param(_letter(origin="Ingest"), False, id="origin-case-matters"),
        pytest.param(_letter(project=None), False, id="no-project"),
        pytest.param(_letter(failed_at=RETAINED_AFTER), True, id="at-the-retention-edge"),
        pytest.param(_letter(failed_at=RETAINED_AFTER - timedelta(microseconds=1)), False, id="just-outside"),
        pytest.param(_letter(failed_at=RETAINED_AFTER - timedelta(days=30)), False, id="long-gone"),
        pytest.param(_letter(failed_at=NOW + timedelta(minutes=5)), True, id="clock-skew-future"),
    ],
)
def test_filter(letter: DeadLetter, kept: bool) -> None:
    assert len(rejection_rows([letter], retained_after=RETAINED_AFTER)) == int(kept)


def test_mixed_letters_keep_their_order() -> None:
    letters = [
        _letter(n=1),
        _letter(n=2, origin="feedback.responses"),
        _letter(n=3, project="globex"),
        _letter(n=4, project=None),
        _letter(n=5, failed_at=RETAINED_AFTER - timedelta(seconds=1)),
        _letter(n=6),
    ]
    rows = rejection_rows(letters, retained_after=RETAINED_AFTER)
    assert [(row[0], row[1]) for row in rows] == [
        (uuid.UUID(int=1), "acme"),
        (uuid.UUID(int=3), "globex"),
        (uuid.UUID(int=6), "acme"),
    ]


def test_no_letters() -> None:
    assert rejection_rows([], retained_after=RETAINED_AFTER) == []


def test_sample_size() -> None:
    assert SAMPLE_BYTES == 2048


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b"", "", id="empty"),
        pytest.param(b"a" * SAMPLE_BYTES, "a" * SAMPLE_BYTES, id="exactly-the-sample"),
        pytest.param(b"a" * (SAMPLE_BYTES + 1), "a" * SAMPLE_BYTES, id="one-byte-over"),
        pytest.param(b"b" * 100_000, "b" * SAMPLE_BYTES, id="large"),
        pytest.param("ünï".encode(), "ünï", id="utf-8"),
        pytest.param(b"ok\xffok", "ok\ufffdok", id="invalid-byte-replaced"),
        pytest.param(b"\xc3\x28", "\ufffd(", id="invalid-sequence-replaced"),
        pytest.param(b"\x80\x81", "\ufffd\ufffd", id="lone-continuation-bytes"),
        # A two-byte character cut in half by the sample boundary becomes one replacement character.
        pytest.param(b"a" * (SAMPLE_BYTES - 1) + "é".encode(), "a" * (SAMPLE_BYTES - 1) + "\ufffd", id="cut-mid-char"),
        pytest.param(b"a" * (SAMPLE_BYTES - 2) + "é".encode() + b"zz", "a" * (SAMPLE_BYTES - 2) + "é", id="char-fits"),
        # Undecodable bytes and NUL (which Postgres text cannot hold) become replacement characters.
        pytest.param(b"\x1f\x8b\x08\x00", "\x1f\ufffd\x08\ufffd", id="gzip-magic"),
    ],
)
def test_payload_sample(payload: bytes, expected: str) -> None:
    [row] = rejection_rows([_letter(payload=payload)], retained_after=RETAINED_AFTER)
    assert row[7] == expected
