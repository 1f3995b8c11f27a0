"""The Sentry envelope format: a JSON header line, then items, each a JSON header line and a payload that is either
``length`` bytes long or runs to the end of the line."""

from dataclasses import dataclass
from typing import Any

import msgspec


class InvalidEnvelope(ValueError):
    pass


@dataclass(frozen=True)
class EnvelopeItem:
    type: str
    payload: bytes


@dataclass(frozen=True)
class Envelope:
    header: dict[str, Any]
    items: list[EnvelopeItem]


def _json_line(body: bytes, start: int, what: str) -> tuple[dict[str, Any], int]:
    end = body.find(b"\n", start)
    end = len(body) if end == -1 else end
    try:
        value = msgspec.json.decode(body[start:end])
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidEnvelope(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidEnvelope(f"{what} is not a JSON object")
    return value, min(end + 1, len(body))


def parse_envelope(body: bytes) -> Envelope:
    if not body.strip():
        raise InvalidEnvelope("the envelope is empty")
    header, position = _json_line(body, 0, "the envelope header")
    items: list[EnvelopeItem] = []
    while position < len(body):
        if body[position : position + 1] == b"\n":  # blank line between items
            position += 1
            continue
        item_header, position = _json_line(body, position, f"the header of item {len(items)}")
        item_type = item_header.get("type")
        if not isinstance(item_type, str):
            raise InvalidEnvelope(f"item {len(items)} has no type")
        length = item_header.get("length")
        if length is None:
            end = body.find(b"\n", position)
            end = len(body) if end == -1 else end
            payload, position = body[position:end], end + 1
        else:
            if isinstance(length, bool) or not isinstance(length, int) or length < 0:
                raise InvalidEnvelope(f"item {len(items)} has length {length!r}: it must be a whole number of bytes")
            if position + length > len(body):
                raise InvalidEnvelope(f"item {len(items)} declares length {length} beyond the envelope's end")
            payload, position = body[position : position + length], position + length
            if body[position : position + 1] == b"\n":
                position += 1
        items.append(EnvelopeItem(item_type, payload))
    return Envelope(header, items)
