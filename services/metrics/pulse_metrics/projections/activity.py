"""Activity: which user was active on which local day of the project (product.md §4).

An active user on a local day has at least one track, page or screen event that day, by event time in the
project's timezone. ``activity_changes`` is the pure part; ``write_activity`` writes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from pulse_common.array_params import int_array, text_array
from pulse_common.db import Statements
from pulse_common.events import UsageEventRecorded, UsageStreamEvent

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


# A user whose set of active days changed: (days before, days after), each sorted.
DaysChange = tuple[list[date], list[date]]


async def write_activity(conn: Statements, changes: ActivityChanges) -> dict[UserKey, DaysChange]:
    """Write user-days and spans; answer, for each user with a new active day, their days before and after.

    The ``users`` rows are written first: their row locks serialize two consumers touching one user, so the day
    lists read afterwards are whole (read committed reads what committed before each statement).
    """
    if not changes.user_days:
        return {}
    # Sorted keys: consumers of other partitions touch the same rows, and one lock order never deadlocks.
    users = sorted(changes.user_spans)
    await conn.execute(
        """
        INSERT INTO metrics.users (project, distinct_id, first_day, last_day)
        SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::date[], $4::date[])
        ON CONFLICT (project, distinct_id) DO UPDATE
        SET first_day = least(metrics.users.first_day, excluded.first_day),
            last_day = greatest(metrics.users.last_day, excluded.last_day)
        """,
        text_array([k[0] for k in users]),
        text_array([k[1] for k in users]),
        [changes.user_spans[k][0] for k in users],
        [changes.user_spans[k][1] for k in users],
    )
    days = sorted(changes.user_days)
    inserted = await conn.fetch(
        """
        INSERT INTO metrics.user_days AS d (project, day, distinct_id, events)
        SELECT * FROM unnest($1::text::text[], $2::date[], $3::text::text[], $4::text::bigint[])
        ON CONFLICT (project, day, distinct_id) DO UPDATE SET events = d.events + excluded.events
        RETURNING d.project, d.distinct_id, d.day, (d.xmax = 0) AS inserted
        """,
        text_array([k[0] for k in days]),
        [k[1] for k in days],
        text_array([k[2] for k in days]),
        int_array([changes.user_days[k] for k in days]),
    )
    new_days: dict[UserKey, set[date]] = {}
    for row in inserted:
        if row["inserted"]:
            new_days.setdefault((row["project"], row["distinct_id"]), set()).add(row["day"])
    if not new_days:
        return {}
    after = await user_day_lists(conn, new_days)
    return {user: ([d for d in after[user] if d not in added], after[user]) for user, added in new_days.items()}


async def user_day_lists(conn: Statements, users: Iterable[UserKey]) -> dict[UserKey, list[date]]:
    """Every active day of each user, sorted."""
    keys = sorted(users)
    rows = await conn.fetch(
        """
        SELECT u.project, u.distinct_id, d.days
        FROM unnest($1::text::text[], $2::text::text[]) AS u(project, distinct_id)
        CROSS JOIN LATERAL (
            SELECT array_agg(d.day ORDER BY d.day) AS days FROM metrics.user_days d
            WHERE d.project = u.project AND d.distinct_id = u.distinct_id
        ) d
        WHERE d.days IS NOT NULL
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
    )
    found: dict[UserKey, list[date]] = {key: [] for key in keys}
    for row in rows:
        found[(row["project"], row["distinct_id"])] = list(row["days"])
    return found
