"""The 200 answer of an ingest request: one line of account per event."""

from dataclasses import dataclass, field
from typing import Any

from pulse_ingest.rejections import Rejection


@dataclass
class Receipt:
    accepted: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "success": True,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [
                {"index": r.index, "messageId": r.message_id, "code": r.code, "message": r.message}
                for r in self.rejected
            ],
        }
