"""A producer whose sender died is replaced, against the real broker, on uvloop as ingest runs under uvicorn.

Seen in the network-fault test: a connection reset raced a produce request, uvloop raised ``RuntimeError`` from
writing to the closed transport, aiokafka's sender task ended on it, and every later publish failed at once: ingest
answered 503 until restarted. Here the same error is raised from that connection's writer, the one fault injected;
the broker, aiokafka and the publisher are real.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import uvloop

from pulse_common.kafka import build_producer, sender_failure
from pulse_common.settings import CommonSettings
from pulse_ingest.publisher import BrokerUnavailable, Publisher
from tests.helpers import create_topic, read_topic


def _closed_transport_write(data: Any) -> None:
    raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")


def _close_under(producer: Any) -> None:
    """Every open connection of ``producer`` now raises on write as uvloop does on a transport a reset closed."""
    for connection in producer.client._conns.values():
        connection._writer.write = _closed_transport_write


async def _scenario(settings: CommonSettings) -> None:
    topic = await create_topic(settings.kafka_bootstrap, 2)
    started: list[Any] = []

    def replacement() -> Any:
        started.append(build_producer(settings, client_id="replacement"))
        return started[-1]

    first = build_producer(settings, client_id="first")
    await first.start()
    publisher = Publisher(first, timeout_s=10, replacement=replacement)
    try:
        await publisher.publish(topic, [(b"user-1", b"before")])
        _close_under(first)
        with pytest.raises(BrokerUnavailable):
            await publisher.publish(topic, [(b"user-1", b"lost with the sender")])
        assert isinstance(sender_failure(first), Exception)  # aiokafka's sender task ended: the state seen
        assert publisher.replaced == 0  # nothing replaced until someone publishes again

        await publisher.publish(topic, [(b"user-1", b"after"), (b"user-2", b"after")])
        assert publisher.replaced == 1
        assert len(started) == 1
        assert sender_failure(started[0]) is None
        await publisher.check()  # readiness passes on the new producer
        await publisher.publish(topic, [(b"user-3", b"after")])
        assert publisher.replaced == 1  # a healthy producer is kept
    finally:
        await publisher.stop()
    values = await read_topic(settings.kafka_bootstrap, topic, keep=lambda v: True, expected=4)
    assert sorted(values) == [b"after", b"after", b"after", b"before"]


def test_a_producer_whose_sender_died_is_replaced_and_publishing_goes_on(settings: CommonSettings) -> None:
    uvloop.run(asyncio.wait_for(_scenario(settings), timeout=60))


def test_without_a_replacement_the_dead_sender_fails_every_publish(settings: CommonSettings) -> None:
    """What ingest did before: once the sender died, no publish succeeded again."""

    async def scenario() -> None:
        topic = await create_topic(settings.kafka_bootstrap, 1)
        producer = build_producer(settings, client_id=f"kept-{uuid.uuid4().hex[:6]}")
        await producer.start()
        publisher = Publisher(producer, timeout_s=10)
        try:
            await publisher.publish(topic, [(b"k", b"before")])  # the connection to the partition's leader is open
            _close_under(producer)
            for _ in range(3):
                with pytest.raises(BrokerUnavailable):
                    await publisher.publish(topic, [(b"k", b"v")])
            assert sender_failure(producer) is not None
            assert publisher.replaced == 0
        finally:
            await publisher.stop()

    uvloop.run(asyncio.wait_for(scenario(), timeout=60))
