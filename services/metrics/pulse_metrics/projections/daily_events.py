"""Daily event counts: events per event name per local day, in the project's timezone.

``count_daily_events`` is the pure part (events in, increments out); ``DailyEventsProjection`` writes them.
Counted: track (by event name), page (as ``$page``) and screen (as ``$screen``) calls; identify, group and alias
describe users rather than product use and are not counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from zoneinfo import ZoneInfo

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import UsageEventRecorded, UsageStreamEvent
from pulse_common.runner import SourceRecord
from pulse_common.zones import ProjectZones

DayKey = tuple[str, date, str]

_PAGE_VIEW = "$page"
_SCREEN_VIEW = "$screen"


def counted_name(event: UsageEventRecorded) -> str | None:
    if event.type == "track":
        return event.name
    if event.type == "page":
        return _PAGE_VIEW
    if event.type == "screen":
        return _SCREEN_VIEW
    return None


def count_daily_events(events: Iterable[UsageStreamEvent], timezones: Mapping[str, ZoneInfo]) -> Counter[DayKey]:
    """Increments per (project, local day, event name). Events of projects without a timezone are not counted."""
    increments: Counter[DayKey] = Counter()
    for event in events:
        if not isinstance(event, UsageEventRecorded):
            continue
        name = counted_name(event)
        zone = timezones.get(event.project)
        if name is None or zone is None:
            continue
        increments[(event.project, event.timestamp.astimezone(zone).date(), name)] += 1
    return increments


class DailyEventsProjection:
    name = "metrics.daily_events"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.USAGE) -> None:
        self._pool = pool
        self.topics = (topic,)
        self._decode: Callable[[bytes], UsageStreamEvent] = codec.decoder_for(UsageStreamEvent)
        self._zones = ProjectZones()

    def decode(self, record: SourceRecord) -> UsageStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        zones = await self._zones.load(conn, (e.project for e in events))
        increments = count_daily_events(events, zones)
        if not increments:
            return
        # Sorted: consumers of other partitions update the same counters, and rows locked in one order never deadlock.
        keys = sorted(increments)
        await conn.execute(
            """
            INSERT INTO metrics.daily_event_counts (project, day, event, count)
            SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[])
            ON CONFLICT (project, day, event)
            DO UPDATE SET count = metrics.daily_event_counts.count + excluded.count
            """,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [increments[k] for k in keys],
        )
