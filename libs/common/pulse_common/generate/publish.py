"""Events written straight to their topics, keyed as ingest keys them, one record batch per partition at a time
(the producer's batch API): the way to load large or historical sets, which ingest's horizons would refuse."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pulse_common import codec, topics
from pulse_common.events import FeedbackResponded, SessionsAggregated, SessionUpdated, UsageEventRecorded
from pulse_common.kafka import build_producer, ensure_topics, partition_for
from pulse_common.settings import CommonSettings


def topic_and_key(event: Any) -> tuple[str, bytes]:
    """Where ingest publishes an event, and under which key."""
    if isinstance(event, UsageEventRecorded):
        return topics.USAGE, topics.usage_key(event.project, event.distinct_id, event.anonymous_id, event.previous_id)
    if isinstance(event, SessionUpdated):
        return topics.SESSIONS, topics.session_key(event.project, event.distinct_id, event.session_id)
    if isinstance(event, SessionsAggregated):
        return topics.SESSIONS, topics.aggregate_key(event.project, event.release, event.environment)
    if isinstance(event, FeedbackResponded):
        return topics.FEEDBACK, topics.message_key(event.project, event.distinct_id)
    raise TypeError(f"no topic for {type(event).__name__}")


async def publish(
    settings: CommonSettings, chunks: Iterable[Sequence[Any]], *, topic_of: Any = topic_and_key
) -> dict[str, int]:
    """Send every event of every chunk (acks=all, each chunk acknowledged before the next); the count per topic.
    ``topic_of(event) -> (topic, key)`` routes them (default: as ingest does)."""
    await ensure_topics(settings.kafka_bootstrap)
    producer = build_producer(settings, client_id="pulse-generate")
    await producer.start()
    sent: dict[str, int] = {}
    partitions: dict[str, list[int]] = {}
    try:
        for chunk in chunks:
            batches: dict[tuple[str, int], Any] = {}
            acks = []
            for event in chunk:
                topic, key = topic_of(event)
                if topic not in partitions:
                    partitions[topic] = sorted(await producer.partitions_for(topic))
                numbers = partitions[topic]
                where = (topic, numbers[partition_for(key, len(numbers))])
                value = codec.encode(event)
                batch = batches.setdefault(where, producer.create_batch())
                if batch.append(key=key, value=value, timestamp=None) is None:
                    acks.append(await producer.send_batch(batch, where[0], partition=where[1]))
                    batch = batches[where] = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
                sent[topic] = sent.get(topic, 0) + 1
            for (topic, partition), batch in batches.items():
                acks.append(await producer.send_batch(batch, topic, partition=partition))
            for ack in acks:
                await ack
    finally:
        await producer.stop()
    return sent
