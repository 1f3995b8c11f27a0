"""Receipt.as_json: the 200 answer of an ingest request."""

from typing import Any

import pytest

from pulse_ingest.receipts import Receipt
from pulse_ingest.segment import Rejection


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
