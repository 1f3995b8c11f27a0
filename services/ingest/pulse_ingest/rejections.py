"""A refused event: where it stood in the request, why, and its bytes (for the dead-letter topic)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    index: int
    message_id: str | None
    code: str
    message: str
    payload: bytes = b""
