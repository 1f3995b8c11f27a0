"""Publishing accepted events with the producer's batch API and waiting for acks=all.

aiokafka keeps at most one batch per partition in flight, and ``send_batch`` waits for the previous one to drain,
so one small batch per request and partition would serialise concurrent requests. Instead, requests are grouped:
each partition has a queue; one drainer per partition sends everything queued so far as one batch (several when
it is large) and settles the waiting requests when the broker acknowledges it. A request waits on one future,
settled once every partition it wrote to is acknowledged.

A producer whose sender task died is replaced (``replacement``): aiokafka's sender stops on an error it does not
handle, and every later send then fails, so ingest would answer 503 until restarted. Seen: uvloop raising
``RuntimeError`` when aiokafka writes to a connection that a reset closed under it.
"""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import Histogram

from pulse_common.kafka import KeyPartitioner, sender_failure

log = logging.getLogger(__name__)

Message = tuple[bytes, bytes]


class BrokerUnavailable(RuntimeError):
    """The broker did not acknowledge every event in time: nothing may be reported as accepted."""


class _Waiter:
    """One request's wait: its future, and how many of its partitions the broker has yet to acknowledge."""

    __slots__ = ("future", "unacknowledged")

    def __init__(self, future: asyncio.Future[None], partitions: int) -> None:
        self.future = future
        self.unacknowledged = partitions

    def acknowledged(self) -> None:
        self.unacknowledged -= 1
        if not self.unacknowledged and not self.future.done():
            self.future.set_result(None)

    def failed(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


@dataclass
class _PartitionQueue:
    # Each request's messages with its waiter; a request that gave up (timed out) is skipped.
    entries: list[tuple[_Waiter, list[Message]]] = field(default_factory=list)
    draining: bool = False


class Publisher:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        *,
        timeout_s: float,
        duration: Histogram | None = None,
        replacement: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        """``producer`` is started; ``replacement`` builds an unstarted one to take over from a producer whose sender
        died (None: never replaced)."""
        self._producer = producer
        self._timeout_s = timeout_s
        self._duration = duration  # pulse_ingest_publish_duration_seconds
        self._replacement = replacement
        self._replacing = asyncio.Lock()
        self.replaced = 0  # producers replaced since start
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
                if self._needs_replacing():  # per request: a plain check, no coroutine unless it died
                    await self._replace_dead_producer()
                grouped = [
                    (topic, await self._by_partition(topic, items)) for topic, items in messages.items() if items
                ]
                waiter = _Waiter(asyncio.get_running_loop().create_future(), sum(len(g) for _, g in grouped))
                for topic, by_partition in grouped:
                    for partition, items in by_partition.items():
                        self._enqueue(topic, partition, waiter, items)
                await waiter.future
        except (KafkaError, TimeoutError) as exc:
            self._observe("failed", started)
            log.warning("the broker did not acknowledge %d messages: %r", count, exc)
            raise BrokerUnavailable(f"the broker did not acknowledge {count} messages: {exc!r}") from exc
        self._observe("acknowledged", started)

    def _observe(self, outcome: str, started: float) -> None:
        if self._duration is not None:
            self._duration.labels(outcome).observe(time.perf_counter() - started)

    async def _by_partition(self, topic: str, messages: Sequence[Message]) -> dict[int, list[Message]]:
        partitions = sorted(await self._producer.partitions_for(topic))
        return self._partitioner.group(messages, partitions)

    def _enqueue(self, topic: str, partition: int, waiter: _Waiter, items: list[Message]) -> None:
        queue = self._queues[(topic, partition)]
        queue.entries.append((waiter, items))
        if not queue.draining:
            queue.draining = True
            drainer = asyncio.create_task(self._drain(topic, partition, queue))
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)

    async def _drain(self, topic: str, partition: int, queue: _PartitionQueue) -> None:
        """Send what is queued as one batch, settle its waiters, and repeat until the queue is empty."""
        try:
            while queue.entries:
                entries, queue.entries = queue.entries, []
                live = [(waiter, items) for waiter, items in entries if not waiter.future.done()]
                if not live:
                    continue
                try:
                    await self._send(topic, partition, [m for _, items in live for m in items])
                except Exception as exc:
                    for waiter, _ in live:
                        waiter.failed(exc)
                    continue
                for waiter, _ in live:
                    waiter.acknowledged()
        finally:
            queue.draining = False

    async def _send(self, topic: str, partition: int, messages: list[Message]) -> None:
        acks = []
        batch = self._producer.create_batch()
        for key, value in messages:
            if batch.append(key=key, value=value, timestamp=None) is None:
                acks.append(await self._send_batch(batch, topic, partition))
                batch = self._producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise KafkaError(f"a message of {len(value)} bytes does not fit in an empty batch")
        acks.append(await self._send_batch(batch, topic, partition))
        await asyncio.gather(*acks)

    async def _send_batch(self, batch: BatchBuilder, topic: str, partition: int) -> asyncio.Future[Any]:
        # Closed: the batch is complete, so aiokafka sends it at once instead of lingering for more messages.
        batch.close()
        ack: asyncio.Future[Any] = await self._producer.send_batch(batch, topic, partition=partition)
        return ack

    async def check(self) -> None:
        """Readiness: the producer can send (replaced if its sender died) and the broker answers a metadata request."""
        if self._needs_replacing():
            await self._replace_dead_producer()
        await self._producer.client.fetch_all_metadata()

    async def stop(self) -> None:
        await self._producer.stop()

    def _needs_replacing(self) -> bool:
        """The producer's sender died and there is a replacement for it."""
        return self._replacement is not None and sender_failure(self._producer) is not None

    async def _replace_dead_producer(self) -> None:
        build = self._replacement
        if build is None:
            return
        async with self._replacing:  # one replacement, however many requests find the sender dead
            failure = sender_failure(self._producer)
            if failure is None:
                return  # replaced while this request waited for the lock
            log.error("the Kafka producer's sender stopped on %r; starting a new producer", failure)
            fresh = build()
            try:
                await fresh.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await fresh.stop()
                raise
            dead, self._producer = self._producer, fresh
            self.replaced += 1
            try:
                await dead.stop()
            except Exception as exc:  # its batches have already failed with the sender
                log.warning("stopping the replaced producer failed: %r", exc)
