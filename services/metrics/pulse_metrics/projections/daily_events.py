"""Daily event counts: events per event name per local day, in the project's timezone.

``count_user_daily_events`` is the pure part (events in, increments out); ``DailyEventsProjection`` writes them,
per user too (``metrics.user_event_days``), so an erased user's events come out of the counts exactly.
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
from pulse_common.events import UsageEventRecorded, UsageStreamEvent, UserDeleted, split_at_erasures
from pulse_common.runner import SourceRecord
from pulse_common.zones import ProjectZones

DayKey = tuple[str, date, str]  # (project, local day, event name)
UserDayKey = tuple[str, str, date, str]  # (project, distinct id, local day, event name)

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


def count_user_daily_events(
    events: Iterable[UsageStreamEvent], timezones: Mapping[str, ZoneInfo]
) -> Counter[UserDayKey]:
    """Increments per (project, distinct id, local day, event name). Events of projects without a timezone are not
    counted."""
    increments: Counter[UserDayKey] = Counter()
    for event in events:
        if not isinstance(event, UsageEventRecorded):
            continue
        name = counted_name(event)
        zone = timezones.get(event.project)
        if name is None or zone is None:
            continue
        increments[(event.project, event.distinct_id, event.timestamp.astimezone(zone).date(), name)] += 1
    return increments


def daily_totals(per_user: Mapping[UserDayKey, int]) -> Counter[DayKey]:
    totals: Counter[DayKey] = Counter()
    for (project, _, day, name), n in per_user.items():
        totals[(project, day, name)] += n
    return totals


def count_daily_events(events: Iterable[UsageStreamEvent], timezones: Mapping[str, ZoneInfo]) -> Counter[DayKey]:
    """Increments per (project, local day, event name)."""
    return daily_totals(count_user_daily_events(events, timezones))


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
        for part in split_at_erasures(events):
            if isinstance(part, UserDeleted):
                await erase_user(conn, part.project, part.distinct_id)
            else:
                await self._count(conn, part)

    async def _count(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        if not events:
            return
        zones = await self._zones.load(conn, (e.project for e in events))
        per_user = count_user_daily_events(events, zones)
        if not per_user:
            return
        user_keys = sorted(per_user)
        await conn.execute(
            """
            INSERT INTO metrics.user_event_days AS u (project, distinct_id, day, event, count)
            SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[])
            ON CONFLICT (project, distinct_id, day, event) DO UPDATE SET count = u.count + excluded.count
            """,
            *([k[i] for k in user_keys] for i in range(4)),
            [per_user[k] for k in user_keys],
        )
        await add_to_daily_counts(conn, daily_totals(per_user))


async def add_to_daily_counts(conn: Connection, increments: Mapping[DayKey, int]) -> None:
    # Sorted: consumers of other partitions update the same counters, and rows locked in one order never deadlock.
    keys = sorted(increments)
    await conn.execute(
        """
        INSERT INTO metrics.daily_event_counts AS d (project, day, event, count)
        SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[])
        ON CONFLICT (project, day, event) DO UPDATE SET count = d.count + excluded.count
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [increments[k] for k in keys],
    )


async def take_from_daily_counts(conn: Connection, decrements: Mapping[DayKey, int]) -> None:
    """Take counts out (an UPDATE: an upsert checks its negative proposed row against ``count >= 0``); a count
    taken to 0 leaves no row, as if nothing had been counted."""
    keys = sorted(decrements)
    await conn.execute(
        """
        UPDATE metrics.daily_event_counts d SET count = d.count - k.n
        FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[]) AS k(project, day, event, n)
        WHERE d.project = k.project AND d.day = k.day AND d.event = k.event
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [decrements[k] for k in keys],
    )
    await conn.execute(
        """
        DELETE FROM metrics.daily_event_counts d USING unnest($1::text[], $2::date[], $3::text[]) AS k(p, day, e)
        WHERE d.project = k.p AND d.day = k.day AND d.event = k.e AND d.count = 0
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )


async def erase_user(conn: Connection, project: str, distinct_id: str) -> None:
    """Take one user's events out of the daily counts (user_deleted)."""
    rows = await conn.fetch(
        "DELETE FROM metrics.user_event_days WHERE project = $1 AND distinct_id = $2 RETURNING day, event, count",
        project,
        distinct_id,
    )
    if rows:
        await take_from_daily_counts(conn, {(project, r["day"], r["event"]): r["count"] for r in rows})
