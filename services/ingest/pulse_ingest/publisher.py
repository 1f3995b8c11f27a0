"""Publishing accepted events with the producer's batch API, one batch per partition, and waiting for acks=all."""

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pulse_common.kafka import KeyPartitioner


class BrokerUnavailable(RuntimeError):
    """The broker did not acknowledge every event in time: nothing may be reported as accepted."""


class Publisher:
    def __init__(self, producer: AIOKafkaProducer, *, timeout_s: float) -> None:
        self._producer = producer
        self._timeout_s = timeout_s
        self._partitioner = KeyPartitioner()

    async def publish(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """Send (key, value) pairs keyed as Kafka's default partitioner would, and wait for every ack."""
        await self.publish_all({topic: messages})

    async def publish_all(self, messages: Mapping[str, Sequence[tuple[bytes, bytes]]]) -> None:
        """Publish to several topics at once; return when every message is acknowledged, else raise."""
        pending = [self._publish(topic, items) for topic, items in messages.items() if items]
        if not pending:
            return
        try:
            await asyncio.wait_for(asyncio.gather(*pending), self._timeout_s)
        except (KafkaError, TimeoutError) as exc:
            count = sum(len(items) for items in messages.values())
            raise BrokerUnavailable(f"the broker did not acknowledge {count} messages: {exc!r}") from exc

    async def _publish(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        partitions = sorted(await self._producer.partitions_for(topic))
        by_partition: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
        for key, value in messages:
            by_partition[partitions[self._partitioner(key, len(partitions))]].append((key, value))
        acks = []
        for partition, items in by_partition.items():
            batch = self._producer.create_batch()
            for key, value in items:
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
