"""Publishing messages that can never be processed to ``pulse.deadletter.v1``, waiting for the broker's ack."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from pulse_common import codec, topics
from pulse_common.events import DeadLetter
from pulse_common.runner.projection import SourceRecord

UNDECODABLE = "undecodable"  # the code of a record no decoder of its topic understands


def poison_letter(consumer: str, record: SourceRecord, reason: str) -> DeadLetter:
    return DeadLetter(
        origin=consumer,
        code=UNDECODABLE,
        reason=reason,
        failed_at=datetime.now(UTC),
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        payload=record.value,
    )


async def publish_dead_letters(
    producer: AIOKafkaProducer,
    letters: Sequence[tuple[bytes | None, DeadLetter]],
    topic: str = topics.DEADLETTER,
) -> None:
    """Send (key, letter) pairs and return once the broker acknowledged every one (raises otherwise)."""
    if not letters:
        return
    futures = [await producer.send(topic, codec.encode(letter), key=key) for key, letter in letters]
    await asyncio.gather(*futures)
