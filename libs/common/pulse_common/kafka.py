"""Kafka clients built from settings, topic creation, and the partitioner ingest batches by."""

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import murmur2

from pulse_common.settings import CommonSettings
from pulse_common.topics import TOPIC_SPECS, TopicSpec

log = logging.getLogger(__name__)


def connection_options(settings: CommonSettings) -> dict[str, Any]:
    """Where the brokers are and how to authenticate, for every client (producer, consumer, admin)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        assert settings.kafka_sasl_password is not None  # checked by the settings
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    return options


def build_producer(settings: CommonSettings, *, client_id: str) -> AIOKafkaProducer:
    """acks=all always; idempotence per settings (on in production, off for the embedded broker)."""
    return AIOKafkaProducer(
        **connection_options(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        linger_ms=2,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )


def sender_failure(producer: AIOKafkaProducer) -> BaseException | None:
    """The error that ended a started producer's sender task, if it ended. aiokafka then fails every later send with
    it and never recovers; it has no public sign of this, so this reads its ``_sender`` (a test pins it)."""
    task = producer._sender.sender_task
    if task is None or not task.done() or task.cancelled():
        return None
    failure: BaseException | None = task.exception()
    return failure


def build_consumer(settings: CommonSettings, *, group_id: str, client_id: str) -> AIOKafkaConsumer:
    """Offsets live in Postgres: no auto-commit, and an out-of-range position raises instead of resetting."""
    return AIOKafkaConsumer(
        **connection_options(settings),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="none",
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 40_000),
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


def build_reader(settings: CommonSettings, *, client_id: str) -> AIOKafkaConsumer:
    """A consumer in no group, reading the partitions it is assigned from the offsets it is told (replays)."""
    return AIOKafkaConsumer(
        **connection_options(settings),
        group_id=None,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="none",
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 40_000),
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec] = TOPIC_SPECS) -> list[str]:
    """Create the topics that are missing; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="pulse-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        created: list[str] = []
        for spec in missing:
            topic = NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=1,
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            try:
                await admin.create_topics([topic])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics %s", ", ".join(created))
        return created
    finally:
        await admin.close()


def partition_for(key: bytes, partition_count: int) -> int:
    """The partition Kafka's default (murmur2) partitioner picks for ``key``, as the Java client does."""
    return int((murmur2(key) & 0x7FFFFFFF) % partition_count)


class KeyPartitioner:
    """``partition_for`` with a bounded memory of recent keys: a user sends many events, and murmur2 is pure Python."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes, partition_count: int) -> int:
        return self._hash(key) % partition_count

    def group(
        self, messages: Iterable[tuple[bytes, bytes]], partitions: Sequence[int]
    ) -> dict[int, list[tuple[bytes, bytes]]]:
        """(key, value) messages by the partition of their key, among a topic's ``partitions`` (its ids, sorted).

        One loop with the memory read inline: this runs for every event ingest publishes.
        """
        hashes = self._hashes
        count = len(partitions)
        grouped: dict[int, list[tuple[bytes, bytes]]] = {}
        for message in messages:
            hashed = hashes.get(message[0])
            if hashed is None:
                hashed = self._hash(message[0])
            partition = partitions[hashed % count]
            group = grouped.get(partition)
            if group is None:
                grouped[partition] = [message]
            else:
                group.append(message)
        return grouped

    def _hash(self, key: bytes) -> int:
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self._capacity:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return hashed
