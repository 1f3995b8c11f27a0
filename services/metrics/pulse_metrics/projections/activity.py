"""Activity: which user was active on which local day of the project (product.md §4).

An active user on a local day has at least one track, page or screen event that day, by event time in the
project's timezone. ``activity_changes`` is the pure part; ``ActivityProjection`` writes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import UsageEventRecorded, UsageStreamEvent
from pulse_common.runner import SourceRecord
from pulse_common.zones import ProjectZones
from pulse_metrics.projections.erasure import apply_in_runs

# Where a deleted user's rows are (user_deleted removes them exactly).
ERASED_TABLES = ("metrics.user_days", "metrics.users")

ACTIVE_TYPES = frozenset({"track", "page", "screen"})

UserKey = tuple[str, str]  # (project, distinct id)


@dataclass
class ActivityChanges:
    # (project, local day, distinct id) -> events that day
    user_days: Counter[tuple[str, date, str]] = field(default_factory=Counter)
    # (project, distinct id) -> (first, last) active day seen in these events
    user_spans: dict[UserKey, tuple[date, date]] = field(default_factory=dict)


def activity_changes(events: Iterable[UsageStreamEvent], zones: Mapping[str, ZoneInfo]) -> ActivityChanges:
    changes = ActivityChanges()
    for event in events:
        if not isinstance(event, UsageEventRecorded) or event.type not in ACTIVE_TYPES:
            continue
        zone = zones.get(event.project)
        if zone is None:
            continue
        day = event.timestamp.astimezone(zone).date()
        changes.user_days[(event.project, day, event.distinct_id)] += 1
        key = (event.project, event.distinct_id)
        span = changes.user_spans.get(key)
        changes.user_spans[key] = (day, day) if span is None else (min(span[0], day), max(span[1], day))
    return changes


class ActivityProjection:
    name = "metrics.activity"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.USAGE) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], UsageStreamEvent] = codec.decoder_for(UsageStreamEvent)
        self._zones = ProjectZones()

    def decode(self, record: SourceRecord) -> UsageStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        await apply_in_runs(conn, events, self._apply_run, ERASED_TABLES)

    async def _apply_run(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        zones = await self._zones.load(conn, (e.project for e in events))
        changes = activity_changes(events, zones)
        if not changes.user_days:
            return
        # Sorted keys: consumers of other partitions touch the same rows, and one lock order never deadlocks.
        days = sorted(changes.user_days)
        await conn.execute(
            """
            INSERT INTO metrics.user_days (project, day, distinct_id, events)
            SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[])
            ON CONFLICT (project, day, distinct_id)
            DO UPDATE SET events = metrics.user_days.events + excluded.events
            """,
            [k[0] for k in days],
            [k[1] for k in days],
            [k[2] for k in days],
            [changes.user_days[k] for k in days],
        )
        users = sorted(changes.user_spans)
        await conn.execute(
            """
            INSERT INTO metrics.users (project, distinct_id, first_day, last_day)
            SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[])
            ON CONFLICT (project, distinct_id) DO UPDATE
            SET first_day = least(metrics.users.first_day, excluded.first_day),
                last_day = greatest(metrics.users.last_day, excluded.last_day)
            """,
            [k[0] for k in users],
            [k[1] for k in users],
            [changes.user_spans[k][0] for k in users],
            [changes.user_spans[k][1] for k in users],
        )
