"""Feature use (product.md §4): which feature an event uses is defined once in ``pulse_common.features``.

``feature_changes`` is the pure part; ``write_features`` writes it.
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
from pulse_common.features import FeatureMap, feature_of


@dataclass
class FeatureChanges:
    # (project, feature, local day, distinct id) -> events
    user_feature_days: Counter[tuple[str, str, date, str]] = field(default_factory=Counter)
    # (project, feature, distinct id) -> first day seen in these events
    first_use: dict[tuple[str, str, str], date] = field(default_factory=dict)


def feature_changes(
    events: Iterable[UsageStreamEvent], zones: Mapping[str, ZoneInfo], mapping: FeatureMap
) -> FeatureChanges:
    changes = FeatureChanges()
    for event in events:
        if not isinstance(event, UsageEventRecorded) or event.type not in ("track", "page", "screen"):
            continue
        zone = zones.get(event.project)
        feature = feature_of(event, mapping)
        if zone is None or feature is None:
            continue
        day = event.timestamp.astimezone(zone).date()
        changes.user_feature_days[(event.project, feature, day, event.distinct_id)] += 1
        key = (event.project, feature, event.distinct_id)
        changes.first_use[key] = min(changes.first_use.get(key, day), day)
    return changes


UseKey = tuple[str, str, str]  # (project, feature, distinct id)
# Days of use of one feature by one user whose set changed: (days before, days after), each sorted.
UsesChange = tuple[list[date], list[date]]


async def write_features(conn: Statements, changes: FeatureChanges) -> dict[UseKey, UsesChange]:
    """Write feature use; answer, for each (feature, user) with a new day of use, the days before and after.

    The caller holds the users' rows locked (``write_activity``), so the day lists read here are whole.
    """
    if not changes.user_feature_days:
        return {}
    rows = sorted(changes.user_feature_days)  # one lock order for every consumer
    inserted = await conn.fetch(
        """
        INSERT INTO metrics.user_feature_days AS f (project, feature, day, distinct_id, events)
        SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::date[], $4::text::text[], $5::text::bigint[])
        ON CONFLICT (project, feature, day, distinct_id) DO UPDATE SET events = f.events + excluded.events
        RETURNING f.project, f.feature, f.distinct_id, f.day, (f.xmax = 0) AS inserted
        """,
        text_array([k[0] for k in rows]),
        text_array([k[1] for k in rows]),
        [k[2] for k in rows],
        text_array([k[3] for k in rows]),
        int_array([changes.user_feature_days[k] for k in rows]),
    )
    adopters = sorted(changes.first_use)
    await conn.execute(
        """
        INSERT INTO metrics.feature_adopters (project, feature, distinct_id, first_day)
        SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::date[])
        ON CONFLICT (project, feature, distinct_id)
        DO UPDATE SET first_day = least(metrics.feature_adopters.first_day, excluded.first_day)
        """,
        text_array([k[0] for k in adopters]),
        text_array([k[1] for k in adopters]),
        text_array([k[2] for k in adopters]),
        [changes.first_use[k] for k in adopters],
    )
    new_days: dict[UseKey, set[date]] = {}
    for row in inserted:
        if row["inserted"]:
            new_days.setdefault((row["project"], row["feature"], row["distinct_id"]), set()).add(row["day"])
    if not new_days:
        return {}
    after = await use_day_lists(conn, new_days)
    return {use: ([d for d in after[use] if d not in added], after[use]) for use, added in new_days.items()}


async def use_day_lists(conn: Statements, uses: Iterable[UseKey]) -> dict[UseKey, list[date]]:
    """Every day each user used each feature, sorted."""
    keys = sorted(uses)
    rows = await conn.fetch(
        """
        SELECT u.project, u.feature, u.distinct_id, f.days
        FROM unnest($1::text::text[], $2::text::text[], $3::text::text[]) AS u(project, feature, distinct_id)
        CROSS JOIN LATERAL (
            SELECT array_agg(f.day ORDER BY f.day) AS days FROM metrics.user_feature_days f
            WHERE f.project = u.project AND f.distinct_id = u.distinct_id AND f.feature = u.feature
        ) f
        WHERE f.days IS NOT NULL
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
        text_array([k[2] for k in keys]),
    )
    found: dict[UseKey, list[date]] = {key: [] for key in keys}
    for row in rows:
        found[(row["project"], row["feature"], row["distinct_id"])] = list(row["days"])
    return found
