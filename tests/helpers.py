"""Helpers shared by integration and end-to-end tests."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pulse_common import codec, topics
from pulse_common.events import SessionsAggregated, SessionUpdated, UsageEventRecorded
from pulse_common.identity import event_id_for

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], *, timeout_s: float = 30.0) -> T:
    """Poll ``probe`` until its value satisfies ``until``; fail with the last value seen."""
    deadline = time.monotonic() + timeout_s
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout_s} s; last value: {value!r}")
        await asyncio.sleep(0.1)
        value = await probe()
    return value


async def create_topic(bootstrap: str, partitions: int, *, name: str | None = None) -> str:
    """Create ``name`` (default: a fresh unique name) with ``partitions`` partitions; returns the name."""
    name = name or f"test.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name


def usage_event(
    project: str, user: str, name: str, when: datetime, *, message_id: str | None = None
) -> UsageEventRecorded:
    return UsageEventRecorded(
        event_id=event_id_for(project, message_id or uuid.uuid4().hex),
        project=project,
        received_at=datetime.now(UTC),
        type="track",
        name=name,
        message_id=message_id,
        user_id=user,
        distinct_id=user,
        timestamp=when,
    )


def _key_of(event: Any) -> bytes:
    """The key ingest gives the event (a user deletion: its user)."""
    if isinstance(event, UsageEventRecorded):
        return topics.usage_key(event.project, event.distinct_id, event.anonymous_id, event.previous_id)
    if isinstance(event, SessionUpdated):
        return topics.session_key(event.project, event.distinct_id, event.session_id)
    if isinstance(event, SessionsAggregated):
        return topics.aggregate_key(event.project, event.release, event.environment)
    return topics.message_key(event.project, event.distinct_id)


async def produce_events(bootstrap: str, topic: str, events: Sequence[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        acks = [await producer.send(topic, codec.encode(e), key=_key_of(e)) for e in events]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def produce_raw(bootstrap: str, topic: str, values: Sequence[bytes], key: bytes = b"raw") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, v, key=key) for v in values])
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, *, keep: Callable[[bytes], bool], expected: int, timeout_s: float = 30.0
) -> list[bytes]:
    """Values of ``topic`` (from its beginning) that ``keep`` selects, once ``expected`` of them arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[bytes] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(found) < expected:
                for messages in (await consumer.getmany(timeout_ms=200)).values():
                    found.extend(m.value for m in messages if keep(m.value))
        # Anything beyond what was expected would show up in one more poll.
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            found.extend(m.value for m in messages if keep(m.value))
    finally:
        await consumer.stop()
    return found
