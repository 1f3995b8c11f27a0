"""Publishing accepted events with the producer's batch API and waiting for acks=all.

aiokafka keeps at most one batch per partition in flight, and ``send_batch`` waits for the previous one to drain,
so one small batch per request and partition would serialise concurrent requests. Instead, requests are grouped:
each partition has a queue; one drainer per partition sends everything queued so far as one batch (several when
it is large) and settles the waiting requests when the broker acknowledges it.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Histogram

from pulse_common.kafka import KeyPartitioner

log = logging.getLogger(__name__)

Message = tuple[bytes, bytes]


class BrokerUnavailable(RuntimeError):
    """The broker did not acknowledge every event in time: nothing may be reported as accepted."""


@dataclass
class _PartitionQueue:
    # Each request's messages with the future it waits on; a request that gave up (timed out) is skipped.
    entries: list[tuple[asyncio.Future[None], list[Message]]] = field(default_factory=list)
    draining: bool = False


class Publisher:
    def __init__(self, producer: AIOKafkaProducer, *, timeout_s: float, duration: Histogram | None = None) -> None:
        self._producer = producer
        self._timeout_s = timeout_s
        self._duration = duration  # pulse_ingest_publish_duration_seconds
        self._partitioner = KeyPartitioner()
        self._queues: dict[tuple[str, int], _PartitionQueue] = defaultdict(_PartitionQueue)
        self._drainers: set[asyncio.Task[None]] = set()

    async def publish(self, topic: str, messages: Sequence[Message]) -> None:
        """Send (key, value) pairs keyed as Kafka's default partitioner would, and wait for every ack."""
        await self.publish_all({topic: messages})

    async def publish_all(self, messages: Mapping[str, Sequence[Message]]) -> None:
        """Publish to several topics at once; return when every message is acknowledged, else raise."""
        count = sum(len(items) for items in messages.values())
        if not count:
            return
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                waiters = [await self._enqueue(topic, items) for topic, items in messages.items() if items]
                await asyncio.gather(*(w for group in waiters for w in group))
        except (KafkaError, TimeoutError) as exc:
            self._observe("failed", started)
            log.warning("the broker did not acknowledge %d messages: %r", count, exc)
            raise BrokerUnavailable(f"the broker did not acknowledge {count} messages: {exc!r}") from exc
        self._observe("acknowledged", started)

    def _observe(self, outcome: str, started: float) -> None:
        if self._duration is not None:
            self._duration.labels(outcome).observe(time.perf_counter() - started)

    async def _enqueue(self, topic: str, messages: Sequence[Message]) -> list[asyncio.Future[None]]:
        partitions = sorted(await self._producer.partitions_for(topic))
        by_partition = self._partitioner.group(messages, partitions)
        loop = asyncio.get_running_loop()
        waiters = []
        for partition, items in by_partition.items():
            queue = self._queues[(topic, partition)]
            waiter: asyncio.Future[None] = loop.create_future()
            queue.entries.append((waiter, items))
            waiters.append(waiter)
            if not queue.draining:
                queue.draining = True
                drainer = asyncio.create_task(self._drain(topic, partition, queue))
                self._drainers.add(drainer)
                drainer.add_done_callback(self._drainers.discard)
        return waiters

    async def _drain(self, topic: str, partition: int, queue: _PartitionQueue) -> None:
        """Send what is queued as one batch, settle its waiters, and repeat until the queue is empty."""
        try:
            while queue.entries:
                entries, queue.entries = queue.entries, []
                live = [(waiter, items) for waiter, items in entries if not waiter.done()]
                if not live:
                    continue
                waiters = [waiter for waiter, _ in live]
                try:
                    await self._send(topic, partition, [m for _, items in live for m in items])
                except Exception as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            queue.draining = False

    async def _send(self, topic: str, partition: int, messages: list[Message]) -> None:
        acks = []
        batch = self._producer.create_batch()
        for key, value in messages:
            if batch.append(key=key, value=value, timestamp=None) is None:
                acks.append(await self._producer.send_batch(batch, topic, partition=partition))
                batch = self._producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise KafkaError(f"a message of {len(value)} bytes does not fit in an empty batch")
        acks.append(await self._producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*acks)

    async def check(self) -> None:
        """Readiness: the broker answers a metadata request."""
        await self._producer.client.fetch_all_metadata()
