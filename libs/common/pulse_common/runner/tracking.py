"""SQL of the runner's bookkeeping: dedup claims and stored offsets (tables of common migration 0001)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from pulse_common.db import Connection
from pulse_common.runner.projection import E

TopicPartitionKey = tuple[str, int]


async def ensure_offsets(
    conn: Connection | asyncpg.Pool, consumer: str, partitions: Iterable[TopicPartitionKey]
) -> dict[TopicPartitionKey, int]:
    """The stored next offset of each partition, creating rows at 0 for partitions seen for the first time."""
    parts = sorted(set(partitions))
    if not parts:
        return {}
    rows = await conn.fetch(
        """
        WITH wanted AS (SELECT * FROM unnest($2::text[], $3::int[]) AS w(topic, partition)),
        created AS (
            INSERT INTO tracking.partition_offsets (consumer, topic, partition)
            SELECT $1, topic, partition FROM wanted
            ON CONFLICT DO NOTHING
            RETURNING topic, partition, next_offset
        )
        SELECT topic, partition, next_offset FROM created
        UNION ALL
        SELECT o.topic, o.partition, o.next_offset
        FROM tracking.partition_offsets o JOIN wanted USING (topic, partition)
        WHERE o.consumer = $1
        """,
        consumer,
        [t for t, _ in parts],
        [p for _, p in parts],
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def lock_offsets(
    conn: Connection, consumer: str, partitions: Iterable[TopicPartitionKey]
) -> dict[TopicPartitionKey, int]:
    """Stored offsets, row-locked until the transaction ends, so two consumers never apply one partition at once."""
    parts = sorted(set(partitions))
    await ensure_offsets(conn, consumer, parts)
    rows = await conn.fetch(
        """
        SELECT o.topic, o.partition, o.next_offset
        FROM tracking.partition_offsets o
        JOIN unnest($2::text[], $3::int[]) AS w(topic, partition) USING (topic, partition)
        WHERE o.consumer = $1
        ORDER BY o.topic, o.partition
        FOR UPDATE OF o
        """,
        consumer,
        [t for t, _ in parts],
        [p for _, p in parts],
    )
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def claim_events(conn: Connection, consumer: str, event_ids: Sequence[UUID]) -> set[int]:
    """Claim event ids for ``consumer``; returns those claimed before (as ``UUID.int``): the duplicates, usually none.

    Only the duplicates come back, not the thousands of ids claimed now; ids are inserted in id order, one lock order
    for every consumer of the projection, so two of them never deadlock.
    """
    if not event_ids:
        return set()
    rows = await conn.fetch(
        """
        WITH wanted AS (SELECT DISTINCT id FROM unnest($2::uuid[]) AS ids(id)),
        claimed AS (
            INSERT INTO tracking.event_claims (consumer, event_id)
            SELECT $1, id FROM wanted ORDER BY id
            ON CONFLICT DO NOTHING
            RETURNING event_id
        )
        SELECT id FROM wanted WHERE id NOT IN (SELECT event_id FROM claimed)
        """,
        consumer,
        event_ids,
    )
    return {r["id"].int for r in rows}


async def claim_new_events(conn: Connection, consumer: str, events: Sequence[E]) -> list[E]:
    """Claim the events' ids for ``consumer``; the events not claimed before, each once, in batch order."""
    return first_new(events, await claim_events(conn, consumer, [e.event_id for e in events]))


def first_new(events: Sequence[E], claimed_before: set[int]) -> list[E]:
    """Events whose id was not claimed before (``claimed_before`` holds ``UUID.int``), each once: a batch may hold
    the same event twice. By ``UUID.int``, whose hash is C's; a ``UUID``'s own is Python's."""
    seen: set[int] = set()
    kept: list[E] = []
    for event in events:
        key = event.event_id.int
        if key not in claimed_before and key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


async def advance_offsets(
    conn: Connection,
    consumer: str,
    positions: Sequence[tuple[str, int, int, datetime]],
) -> None:
    """Store (topic, partition, next_offset, as_of) rows; offsets only ever move forward."""
    await conn.execute(
        """
        UPDATE tracking.partition_offsets o
        SET next_offset = greatest(o.next_offset, n.next_offset),
            as_of = greatest(o.as_of, n.as_of),
            updated_at = now()
        FROM unnest($2::text[], $3::int[], $4::bigint[], $5::timestamptz[])
             AS n(topic, partition, next_offset, as_of)
        WHERE o.consumer = $1 AND o.topic = n.topic AND o.partition = n.partition
        """,
        consumer,
        [p[0] for p in positions],
        [p[1] for p in positions],
        [p[2] for p in positions],
        [p[3] for p in positions],
    )


async def mark_caught_up(
    conn: Connection | asyncpg.Pool,
    consumer: str,
    positions: Sequence[tuple[str, int, int]],
    as_of: datetime,
) -> None:
    """Every event that arrived before ``as_of`` is applied on these (topic, partition, position) rows."""
    await conn.execute(
        """
        UPDATE tracking.partition_offsets o
        SET as_of = greatest(o.as_of, $5), updated_at = now()
        FROM unnest($2::text[], $3::int[], $4::bigint[]) AS n(topic, partition, position)
        WHERE o.consumer = $1 AND o.topic = n.topic AND o.partition = n.partition
          AND o.next_offset >= n.position
        """,
        consumer,
        [p[0] for p in positions],
        [p[1] for p in positions],
        [p[2] for p in positions],
        as_of,
    )


async def restart_partition(conn: Connection | asyncpg.Pool, consumer: str, topic: str, partition: int) -> None:
    """Forget the stored offset of a partition whose log was replaced by a new, shorter one."""
    await conn.execute(
        "UPDATE tracking.partition_offsets SET next_offset = 0, updated_at = now() "
        "WHERE consumer = $1 AND topic = $2 AND partition = $3",
        consumer,
        topic,
        partition,
    )


async def projection_as_of(conn: Connection | asyncpg.Pool, consumer: str) -> datetime | None:
    """Arrival time up to which every event of every partition has been applied; None until all caught up once."""
    value: datetime | None = await conn.fetchval(
        "SELECT CASE WHEN count(*) = 0 OR bool_or(as_of IS NULL) THEN NULL ELSE min(as_of) END "
        "FROM tracking.partition_offsets WHERE consumer = $1",
        consumer,
    )
    return value
