"""Activity: which user was active on which local day of the project (product.md §4).

An active user on a local day has at least one track, page or screen event that day, by event time in the
project's timezone. ``activity_changes`` is the pure part; ``ActivityProjection`` writes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from pulse_common.db import Connection
from pulse_common.events import UsageEventRecorded, UsageStreamEvent
from pulse_metrics.projections.user_keyed import UserKeyedUsageProjection

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


class ActivityProjection(UserKeyedUsageProjection):
    name = "metrics.activity"
    erased_tables = ("metrics.user_days", "metrics.users")

    async def apply_run(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        zones = await self.zones.load(conn, (e.project for e in events))
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
