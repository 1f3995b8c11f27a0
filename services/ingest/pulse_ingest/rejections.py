"""A refused event: where it stood in the request, why, and its bytes (for the dead-letter topic)."""

from dataclasses import dataclass

import msgspec


@dataclass(frozen=True)
class Rejection:
    index: int
    message_id: str | None
    code: str
    message: str
    payload: bytes = b""


def message_id_of(raw: bytes, field: str = "messageId") -> str | None:
    """Best effort, for naming in the receipt an event that could not be decoded."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    message_id = value.get(field) if isinstance(value, dict) else None
    return message_id if isinstance(message_id, str) else None


def too_large(index: int, raw: bytes, limit: int, what: str = "event") -> Rejection | None:
    """The rejection of an item over the per-event size limit, or None when it fits."""
    if len(raw) <= limit:
        return None
    return Rejection(index, message_id_of(raw), "event_too_large", f"{what} is {len(raw)} bytes; the limit is {limit}")
