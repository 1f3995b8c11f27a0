"""The raw ceilings of the parts, measured on this machine in the same run as the pipelines: the producer's batch
API, a consumer that only fetches and decodes, the projection runner with a projection that writes nothing (its
claims, offsets and transactions: the most any projection can apply), and COPY into Postgres."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import TopicPartition

from benchmarks.pipeline import apply_all
from pulse_common import codec
from pulse_common.db import Connection
from pulse_common.events import UsageEventRecorded, UsageStreamEvent
from pulse_common.generate.publish import publish
from pulse_common.identity import event_id_for
from pulse_common.kafka import build_reader
from pulse_common.runner import SourceRecord
from pulse_common.settings import CommonSettings

TOPIC = "bench.ceiling.v1"


def usage_events(project: str, count: int, label: str) -> list[UsageEventRecorded]:
    """``count`` track events of 10,000 users over 30 days (ids unique per ``label``)."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    return [
        UsageEventRecorded(
            event_id=event_id_for(project, f"{label}-{i}"),
            project=project,
            received_at=start,
            type="track",
            name=f"feature-{i % 50:02d}",
            message_id=f"{label}-{i}",
            user_id=f"u{i % 10_000}",
            distinct_id=f"u{i % 10_000}",
            timestamp=start + timedelta(minutes=i % 43_200),
            properties={"plan": "pro"},
        )
        for i in range(count)
    ]


def _chunks(items: list[Any], size: int = 20_000) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def measure(settings: CommonSettings, dsn: str, count: int) -> dict[str, float]:
    events = usage_events("bench", count, uuid.uuid4().hex[:6])
    started = time.perf_counter()
    await publish(settings, _chunks(events), topic_of=lambda e: (TOPIC, e.distinct_id.encode()))
    produced_s = time.perf_counter() - started

    reader = build_reader(settings, client_id="bench-ceiling")
    await reader.start()
    decode = codec.decoder_for(UsageStreamEvent)
    try:
        await reader.topics()
        partitions = [TopicPartition(TOPIC, p) for p in sorted(reader.partitions_for_topic(TOPIC) or ())]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        read = 0
        started = time.perf_counter()
        while read < count:
            for messages in (await reader.getmany(timeout_ms=1000, max_records=5000)).values():
                for message in messages:
                    decode(message.value)
                read += len(messages)
        consumed_s = time.perf_counter() - started
    finally:
        await reader.stop()

    runner = await apply_all(settings, lambda _: _Nothing(), count, "bench-ceiling-runner")

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TEMP TABLE copied (project text, distinct_id text, day date, event text, count bigint)"
        )
        rows = [(e.project, e.distinct_id, e.timestamp.date(), e.name, 1) for e in events]
        started = time.perf_counter()
        await conn.copy_records_to_table("copied", records=rows)
        copied_s = time.perf_counter() - started
    finally:
        await conn.close()
    return {
        "events": count,
        "producer_batch_per_s": count / produced_s,
        "consumer_fetch_decode_per_s": count / consumed_s,
        "runner_noop_per_s": runner["per_s"],
        "copy_rows_per_s": count / copied_s,
    }


class _Nothing:
    """A projection that writes nothing: what is left is the runner's own work."""

    name = "bench.ceiling.nothing"
    topics = (TOPIC,)

    def __init__(self) -> None:
        self._decode = codec.decoder_for(UsageStreamEvent)

    def decode(self, record: SourceRecord) -> Any:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[Any]) -> None:
        return None
