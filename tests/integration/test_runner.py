"""The projection runner against a real broker and a real Postgres: exactly-once effect under replays, crashes,
restarts, poison messages, group rebalancing and a log that was recreated."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from pulse_common import broker as embedded_broker
from pulse_common import codec, topics
from pulse_common.events import DeadLetter, UsageEventRecorded
from pulse_common.projects import CreatedProject
from pulse_common.runner import BatchResult
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.daily_events import DailyEventsProjection
from tests.helpers import create_topic, eventually, produce_events, produce_raw, usage_event
from tests.integration.harness import SimulatedCrash, running


async def total(pool: asyncpg.Pool, project: str) -> int:
    value = await pool.fetchval(
        "SELECT coalesce(sum(count), 0) FROM metrics.daily_event_counts WHERE project = $1", project
    )
    return int(value)


async def rows(pool: asyncpg.Pool, project: str) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in await pool.fetch(
            "SELECT day, event, count FROM metrics.daily_event_counts WHERE project = $1 ORDER BY day, event", project
        )
    ]


async def stored_offsets(pool: asyncpg.Pool, topic: str) -> dict[int, int]:
    records = await pool.fetch(
        "SELECT partition, next_offset FROM tracking.partition_offsets WHERE consumer = $1 AND topic = $2",
        DailyEventsProjection.name,
        topic,
    )
    return {r["partition"]: r["next_offset"] for r in records}


def make_events(
    project: str, count: int, *, users: int = 10, start: datetime | None = None, prefix: str = "m"
) -> list[UsageEventRecorded]:
    start = start or datetime(2026, 11, 1, 12, tzinfo=UTC)
    return [
        usage_event(
            project, f"user-{i % users}", f"event-{i % 3}", start + timedelta(hours=i % 48), message_id=f"{prefix}-{i}"
        )
        for i in range(count)
    ]


async def wait_total(pool: asyncpg.Pool, project: str, expected: int) -> None:
    await eventually(lambda: total(pool, project), lambda n: n >= expected)
    # Give a wrong extra count the chance to show up before asserting equality.
    await asyncio.sleep(0.3)
    assert await total(pool, project) == expected


async def test_same_batch_delivered_twice_leaves_the_same_rows(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, partitions=3)
    events = make_events(project.project, 60)
    async with running(settings, pool, topic, group="twice") as run:
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_total(pool, project.project, 60)
        before = await rows(pool, project.project)
        await produce_events(settings.kafka_bootstrap, topic, events)  # the very same events, same ids
        await eventually(lambda: asyncio.sleep(0, run.runner.stats.duplicates), lambda n: n >= 60)
        assert await rows(pool, project.project) == before
        assert run.runner.stats.applied == 60
        assert run.runner.stats.duplicates == 60


async def test_crash_after_database_commit_before_kafka_commit_counts_nothing_twice(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    await produce_events(settings.kafka_bootstrap, topic, make_events(project.project, 40))

    async def crash(_: BatchResult) -> None:
        raise SimulatedCrash("killed between the Postgres commit and the Kafka commit")

    async with running(settings, pool, topic, group="crash", after_db_commit=crash) as run:
        with pytest.raises(SimulatedCrash):
            await asyncio.wait_for(run.task, 30)
        applied_before_crash = run.runner.stats.applied
        assert applied_before_crash > 0
        # The Kafka commit never happened: the broker knows no position of this group.
        for partition in range(2):
            assert await run.consumer.committed(TopicPartition(topic, partition)) is None
    assert await total(pool, project.project) == applied_before_crash

    async with running(settings, pool, topic, group="crash") as run:
        await wait_total(pool, project.project, 40)
        assert run.runner.stats.applied == 40 - applied_before_crash
        assert run.runner.stats.duplicates == 0


async def test_restart_resumes_from_offsets_stored_in_postgres(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, partitions=3)
    first, second = make_events(project.project, 80)[:50], make_events(project.project, 80)[50:]
    async with running(settings, pool, topic, group="first-group"):
        await produce_events(settings.kafka_bootstrap, topic, first)
        await wait_total(pool, project.project, 50)
    assert sum((await stored_offsets(pool, topic)).values()) == 50

    await produce_events(settings.kafka_bootstrap, topic, second)
    # A brand-new group has no Kafka position at all: only the offsets in Postgres can say where to resume.
    async with running(settings, pool, topic, group="another-group") as run:
        await wait_total(pool, project.project, 80)
        assert run.runner.stats.applied == 30
        assert run.runner.stats.duplicates == 0
        assert run.runner.stats.below_stored_offset == 0
    assert sum((await stored_offsets(pool, topic)).values()) == 80


async def test_poison_message_goes_to_the_dead_letter_topic_and_the_consumer_keeps_going(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, partitions=1)
    events = make_events(project.project, 10)
    poison = [b"not json at all", b'{"event_type": "usage", "project": "x"}']
    await produce_events(settings.kafka_bootstrap, topic, events[:5])
    await produce_raw(settings.kafka_bootstrap, topic, poison)
    await produce_events(settings.kafka_bootstrap, topic, events[5:])
    async with running(settings, pool, topic, group="poison") as run:
        await wait_total(pool, project.project, 10)
        assert run.runner.stats.dead_lettered == 2
    assert await stored_offsets(pool, topic) == {0: 12}

    letters = await read_dead_letters(settings.kafka_bootstrap, source_topic=topic, expected=2)
    assert [letter.source_offset for letter in letters] == [5, 6]
    assert [letter.payload for letter in letters] == poison
    assert all(letter.origin == DailyEventsProjection.name and letter.code == "undecodable" for letter in letters)
    assert "JSON" in letters[0].reason or "malformed" in letters[0].reason.lower()
    assert "missing required field" in letters[1].reason.lower()


async def read_dead_letters(bootstrap: str, *, source_topic: str, expected: int) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(topics.DEADLETTER, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[DeadLetter] = []
    decode = codec.decoder_for(DeadLetter)
    try:
        async with asyncio.timeout(30):
            while len(found) < expected:
                for messages in (await consumer.getmany(timeout_ms=200)).values():
                    for message in messages:
                        letter = decode(message.value)
                        if letter.source_topic == source_topic:
                            found.append(letter)
    finally:
        await consumer.stop()
    return sorted(found, key=lambda letter: letter.source_offset or 0)


async def test_two_consumers_of_one_group_split_partitions_with_exact_totals(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, partitions=4)
    events = make_events(project.project, 400, users=40)
    async with (
        running(settings, pool, topic, group="split") as one,
        running(settings, pool, topic, group="split") as two,
    ):
        await eventually(
            lambda: asyncio.sleep(0, (one.consumer.assignment(), two.consumer.assignment())),
            lambda pair: bool(pair[0]) and bool(pair[1]) and not (pair[0] & pair[1]),
        )
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_total(pool, project.project, 400)
        assert one.runner.stats.applied > 0
        assert two.runner.stats.applied > 0
        assert one.runner.stats.applied + two.runner.stats.applied == 400


async def test_two_consumers_racing_on_the_same_partitions_apply_each_event_once(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    """A zombie (a consumer that lost its partitions but still works) must not double count: the stored offsets,
    locked inside the transaction, and the dedup claims make the second application a no-op."""
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    events = make_events(project.project, 300, users=30)
    async with (
        running(settings, pool, topic, group="zombie-a") as one,
        running(settings, pool, topic, group="zombie-b") as two,
    ):
        # Both positioned before anything is produced, so each fetches every record (none is skipped by a seek).
        await eventually(
            lambda: asyncio.sleep(0, (one.runner.stats.assignments, two.runner.stats.assignments)),
            lambda pair: bool(pair[0]) and bool(pair[1]),
        )
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_total(pool, project.project, 300)
        await eventually(
            lambda: asyncio.sleep(
                0, sum(r.runner.stats.applied + r.runner.stats.below_stored_offset for r in (one, two))
            ),
            lambda seen: seen >= 600,
        )
        assert one.runner.stats.applied + two.runner.stats.applied == 300


class GatedDailyEvents(DailyEventsProjection):
    """Daily counts whose first batch waits at a gate, inside its transaction, until the test opens it."""

    def __init__(self, pool: asyncpg.Pool, *, topic: str) -> None:
        super().__init__(pool, topic=topic)
        self.waiting = asyncio.Event()
        self.gate = asyncio.Event()

    async def apply(self, conn: Any, events: Any) -> None:
        self.waiting.set()
        await self.gate.wait()
        await super().apply(conn, events)


async def test_a_batch_fetched_across_a_seek_is_fetched_again_and_every_event_counts_once(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject
) -> None:
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    projection = GatedDailyEvents(pool, topic=topic)
    async with running(settings, pool, topic, group="refetch", projection=projection) as run:
        await produce_events(settings.kafka_bootstrap, topic, make_events(project.project, 200, users=20))
        await asyncio.wait_for(projection.waiting.wait(), 30)
        await asyncio.sleep(0.5)  # the next batch is fetched and decoded meanwhile
        # What a rebalance does: every assigned partition sought to its stored offset, the batch under way uncommitted.
        await run.runner.seek_to_stored_offsets(set(run.consumer.assignment()))
        projection.gate.set()
        await wait_total(pool, project.project, 200)
        assert run.runner.stats.refetched >= 1
        assert run.runner.stats.applied == 200
    assert sum((await stored_offsets(pool, topic)).values()) == 200


async def test_a_recreated_topic_is_detected_and_consumed_from_its_beginning(
    settings: CommonSettings, pool: asyncpg.Pool, project: CreatedProject, caplog: pytest.LogCaptureFixture
) -> None:
    port = embedded_broker.free_port()
    own = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{port}"})
    broker = embedded_broker.start_broker(port)
    try:
        topic = await create_topic(own.kafka_bootstrap, partitions=2)
        async with running(own, pool, topic, group="recreated"):
            await produce_events(own.kafka_bootstrap, topic, make_events(project.project, 20))
            await wait_total(pool, project.project, 20)
        assert sum((await stored_offsets(pool, topic)).values()) == 20

        # The in-memory broker restarts empty: the topic comes back with a new, shorter log.
        broker.terminate()
        broker.wait(timeout=10)
        broker = embedded_broker.start_broker(port)
        await create_topic(own.kafka_bootstrap, partitions=2, name=topic)
        await produce_events(own.kafka_bootstrap, topic, make_events(project.project, 4, prefix="after-restart"))

        with caplog.at_level(logging.ERROR, logger="pulse_common.runner.runner"):
            async with running(own, pool, topic, group="recreated") as run:
                await wait_total(pool, project.project, 24)
                assert run.runner.stats.logs_restarted >= 1
        assert "the log was recreated or lost" in caplog.text
        assert sum((await stored_offsets(pool, topic)).values()) == 4
    finally:
        broker.terminate()
        broker.wait(timeout=10)
