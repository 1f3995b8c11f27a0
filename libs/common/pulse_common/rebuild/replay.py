"""Applying a stretch of the log to a projection in the fresh database: each batch with its dedup claims and next
offsets in one transaction, as the live runner does, up to given offsets and no further."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from pulse_common.codec import UndecodableMessage
from pulse_common.rebuild.unit import RebuildFailed
from pulse_common.runner import tracking
from pulse_common.runner.projection import Projection, SourceRecord

log = logging.getLogger(__name__)


async def replay_until(
    pool: asyncpg.Pool,
    projection: Projection[Any],
    reader: AIOKafkaConsumer,
    targets: Mapping[TopicPartition, int],
    *,
    max_records: int = 5000,
    stall_s: float = 60.0,
) -> int:
    """Apply each partition's records from the offset stored in ``pool``'s database up to ``targets`` (exclusive);
    returns the events applied. ``reader`` is a consumer without a group: partitions are assigned here."""
    stored = await tracking.ensure_offsets(pool, projection.name, [(tp.topic, tp.partition) for tp in targets])
    pending = {tp: end for tp, end in targets.items() if stored[(tp.topic, tp.partition)] < end}
    if not pending:
        return 0
    reader.assign(list(pending))
    for tp in pending:
        reader.seek(tp, stored[(tp.topic, tp.partition)])
    applied = 0
    last_progress = time.monotonic()
    while pending:
        batches = await reader.getmany(*pending, timeout_ms=500, max_records=max_records)
        records = [
            SourceRecord(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp)
            for tp, messages in batches.items()
            for m in messages
            if m.offset < pending.get(tp, 0)
        ]
        if records:
            applied += await _apply(pool, projection, records)
            last_progress = time.monotonic()
        for tp in list(pending):
            if await reader.position(tp) >= pending[tp]:
                del pending[tp]
        if pending and time.monotonic() - last_progress > stall_s:
            raise RebuildFailed(f"{projection.name}: no record read for {stall_s:.0f} s; still to read: {pending}")
    return applied


async def _apply(pool: asyncpg.Pool, projection: Projection[Any], records: list[SourceRecord]) -> int:
    async with pool.acquire() as conn, conn.transaction():
        stored = await tracking.lock_offsets(conn, projection.name, {(r.topic, r.partition) for r in records})
        fresh = [r for r in records if r.offset >= stored.get((r.topic, r.partition), 0)]
        events = []
        for record in fresh:
            try:
                events.append(projection.decode(record))
            except UndecodableMessage as exc:
                # Dead-lettered when the live runner first met it; a replay only passes over it.
                log.warning(
                    "%s: passing over %s[%d]@%d: %s",
                    projection.name,
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
        new_events = await tracking.claim_new_events(conn, projection.name, events)
        await projection.apply(conn, new_events)
        newest: dict[tuple[str, int], SourceRecord] = {}
        for record in fresh:
            newest[(record.topic, record.partition)] = record
        await tracking.advance_offsets(
            conn,
            projection.name,
            [(t, p, r.offset + 1, datetime.fromtimestamp(r.timestamp_ms / 1000, UTC)) for (t, p), r in newest.items()],
        )
    return len(new_events)
