"""Receipt.as_json: the 200 answer of an ingest request."""

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_common.events import DeadLetter
from pulse_ingest.pipeline import holds_nul, may_hold_nul
from pulse_ingest.receipts import Receipt
from pulse_ingest.segment import Rejection
from pulse_metrics.projections.rejections import rejection_rows


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [
        pytest.param(Receipt(), {"success": True, "accepted": 0, "duplicates": [], "rejected": []}, id="empty"),
        pytest.param(Receipt(accepted=3), {"success": True, "accepted": 3, "duplicates": [], "rejected": []}, id="ok"),
        pytest.param(
            Receipt(
                accepted=1,
                duplicates=[{"index": 2, "messageId": "m-1"}],
                rejected=[
                    Rejection(0, "m-0", "missing_event", "event is required for a track call"),
                    Rejection(3, None, "invalid_event", "not a JSON object"),
                ],
            ),
            {
                "success": True,
                "accepted": 1,
                "duplicates": [{"index": 2, "messageId": "m-1"}],
                "rejected": [
                    {
                        "index": 0,
                        "messageId": "m-0",
                        "code": "missing_event",
                        "message": "event is required for a track call",
                    },
                    {"index": 3, "messageId": None, "code": "invalid_event", "message": "not a JSON object"},
                ],
            },
            id="mixed",
        ),
    ],
)
def test_as_json(receipt: Receipt, expected: dict[str, Any]) -> None:
    assert receipt.as_json() == expected


def test_receipts_do_not_share_lists() -> None:
    first, second = Receipt(), Receipt()
    first.rejected.append(Rejection(0, None, "invalid_event", "x"))
    first.duplicates.append({"index": 1, "messageId": "m"})
    assert second.as_json() == {"success": True, "accepted": 0, "duplicates": [], "rejected": []}


def test_rejections_keep_their_order() -> None:
    receipt = Receipt(rejected=[Rejection(i, f"m-{i}", "invalid_event", "bad") for i in (5, 1, 3)])
    assert [r["index"] for r in receipt.as_json()["rejected"]] == [5, 1, 3]


@pytest.mark.parametrize(
    ("text", "nul"),
    [("plain", False), ("a\x00b", True), ("\\u0000 written out", False), ("\\\x00", True), ("\\\\u0000", False)],
)
def test_nul_is_found_in_encoded_events_and_only_there(text: str, nul: bool) -> None:
    assert holds_nul(msgspec.json.encode({"name": text, "other": "\\\\"})) is nul


def test_a_dead_letter_naming_a_nul_value_can_be_stored() -> None:
    letter = DeadLetter(
        origin="ingest",
        code="invalid_session",
        reason="Invalid enum value 'a\x00' - at `$.status`",
        failed_at=datetime(2026, 12, 1, tzinfo=UTC),
        project="p",
        message_id="s\x00",
        payload=b'{"sid": "s\\u0000"}',
    )
    (row,) = rejection_rows([letter], retained_after=datetime(2026, 11, 1, tzinfo=UTC))
    assert not any("\x00" in value for value in row if isinstance(value, str))
    assert row[5] == "s\ufffd"


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.sampled_from(["a", "\x00", "\\", "u", "0", "é", '"']), max_size=8), max_size=4),
    ascii_only=st.booleans(),
)
def test_a_body_said_to_hold_no_nul_gives_no_event_holding_one(texts: list[str], ascii_only: bool) -> None:
    # The per-request shortcut: when the body has no \u0000 escape, no event encoded from it may hold NUL.
    body = json.dumps({"batch": [{"properties": {"t": text}} for text in texts]}, ensure_ascii=ascii_only).encode()
    events = [msgspec.json.encode({"properties": {"t": text}}) for text in texts]
    if not may_hold_nul(body):
        assert not any(holds_nul(event) for event in events)
    assert may_hold_nul(body) is any("\x00" in text for text in texts)
