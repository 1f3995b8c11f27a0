"""Bytes <-> events, with typed msgspec decoders straight from raw bytes (no dict-then-validate step).

Decoders are built once per stream and reused; build them with :func:`decoder_for` at start-up, not at import.
"""

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import msgspec

from pulse_common import events, topics

T = TypeVar("T")

STREAM_TYPES: dict[str, Any] = {
    topics.USAGE: events.UsageStreamEvent,
    topics.SESSIONS: events.SessionStreamEvent,
    topics.FEEDBACK: events.FeedbackStreamEvent,
    topics.DEADLETTER: events.DeadLetter,
}


class UndecodableMessage(ValueError):
    """The bytes are not a valid event of the stream: the message can never be processed."""


@cache
def _encoder() -> msgspec.json.Encoder:
    return msgspec.json.Encoder()


def encode(event: msgspec.Struct) -> bytes:
    return _encoder().encode(event)


def decoder_for(stream_type: type[T] | Any) -> Callable[[bytes], T]:
    """A function decoding one message of ``stream_type`` (a Struct or a tagged union of Structs)."""
    decoder = msgspec.json.Decoder(stream_type)

    def decode(payload: bytes) -> T:
        try:
            return decoder.decode(payload)  # type: ignore[no-any-return]
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
            raise UndecodableMessage(str(exc)) from exc

    return decode


def topic_decoder(topic: str) -> Callable[[bytes], Any]:
    """The decoder of a Pulse topic, by its (base) name."""
    try:
        return decoder_for(STREAM_TYPES[topic])
    except KeyError:
        raise ValueError(f"no event stream is declared for topic {topic!r}") from None
