"""The adoption projection (product.md §4): activity, feature use, traits, identity links and their rollups from
``pulse.usage.v1``, in one transaction per batch so every adoption figure is read at one ``as_of``.

Batches are applied in runs split at each ``user_deleted``: a user's events before their deletion are removed with
them, and the deletion subtracts the user's contribution from every rollup (exact, without a rebuild).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from pulse_common import codec, topics
from pulse_common.array_params import text_array
from pulse_common.db import Connection, Statements, advisory_locks
from pulse_common.events import UsageStreamEvent, UserDeleted, split_at_erasures
from pulse_common.features import load_feature_map
from pulse_common.runner import SourceRecord
from pulse_common.write_behind import WriteBehind
from pulse_common.zones import ProjectZones
from pulse_metrics.projections.activity import DaysChange, UserKey, activity_changes, write_activity
from pulse_metrics.projections.features import UseKey, UsesChange, feature_changes, write_features
from pulse_metrics.projections.identities import load_links, resolve_identities, write_links
from pulse_metrics.projections.rollup_writes import write_rollups, write_segment_rollups
from pulse_metrics.projections.rollups import AdopterChange, RollupChanges, days_between
from pulse_metrics.projections.segment_store import declared_traits, trait_histories, user_activities
from pulse_metrics.projections.segments import (
    BatchChanges,
    HeldValues,
    SegmentChanges,
    UserActivity,
    rewritten_users,
    segment_changes,
)
from pulse_metrics.projections.traits import trait_changes, write_traits

# Every table holding a user's rows, emptied of them by a deletion (after the rollups are corrected).
USER_TABLES = (
    "metrics.user_days",
    "metrics.user_feature_days",
    "metrics.feature_adopters",
    "metrics.user_traits",
    "metrics.trait_history",
    "metrics.users",
)


class AdoptionProjection:
    name = "metrics.adoption"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.USAGE) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], UsageStreamEvent] = codec.decoder_for(UsageStreamEvent)
        self.zones = ProjectZones()

    def decode(self, record: SourceRecord) -> UsageStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        async with WriteBehind(conn) as db:
            for part in split_at_erasures(events):
                if isinstance(part, UserDeleted):
                    await db.settle()
                    zones = await self.zones.load(conn, [part.project])
                    traits = (await declared_traits(conn, [part.project])).get(part.project, [])
                    await erase_user(conn, part.project, part.distinct_id, traits, zones.get(part.project))
                else:
                    await self.apply_run(db, part)

    async def apply_run(self, conn: Statements, events: Sequence[UsageStreamEvent]) -> None:
        """Over a ``WriteBehind``, the Python work after each write overlaps Postgres executing it."""
        projects = {e.project for e in events}
        zones = await self.zones.load(conn, projects)
        declared = {p: traits for p, traits in (await declared_traits(conn, projects)).items() if p in zones}
        resolved, links = resolve_identities(events, await load_links(conn, events))
        traits = trait_changes(resolved)
        # Users whose history of a declared trait changes: if its values change, their whole contribution to the
        # trait's segments is recounted.
        identified = {(project, user) for project, user, trait, _, _ in traits if trait in declared.get(project, ())}
        if declared:
            # An identify and a track of one user can be on different partitions (keyed by anonymous id, user id):
            # a lock per user keeps one consumer from counting days under a history another is replacing.
            segment_users = {(e.project, e.distinct_id) for e in resolved if e.project in declared}
            await advisory_locks(conn, [("adoption-user", *user) for user in segment_users])
        histories_before = await trait_histories(conn, identified, declared)
        feature_map = await load_feature_map(conn, projects)
        await write_links(conn, links)
        activity = activity_changes(resolved, zones)
        features = feature_changes(resolved, zones, feature_map)
        # Users' rows first: their locks serialize consumers touching one user (see write_activity).
        day_changes = await write_activity(conn, activity)
        use_changes = await write_features(conn, features)
        await write_traits(conn, traits)

        rollups = RollupChanges()
        for (project, _), (before, after) in day_changes.items():
            rollups.change_active_days(project, before, after)
        for (project, feature, _), (before, after) in use_changes.items():
            rollups.change_feature_days(project, feature, before, after)
        for (project, feature, day, _), events_that_day in features.user_feature_days.items():
            rollups.feature_events[(project, feature, day)] += events_that_day
        adopters = await adopter_changes(conn, day_changes, use_changes)
        for adopter in adopters:
            rollups.change_adoption_delay(adopter.project, adopter.feature, adopter.delay_before, adopter.delay_after)
        await write_rollups(conn, rollups)
        if not declared:
            return
        # Everyone whose rollups may change: new days, identify calls, feature use (new days of use and adopters
        # are among these).
        touched = {*day_changes, *identified, *((p, u) for p, _, _, u in features.user_feature_days)}
        histories = await trait_histories(conn, touched, declared)
        rewritten = rewritten_users(identified, declared, histories_before, histories)
        batch = BatchChanges(
            day_changes=day_changes,
            use_changes=use_changes,
            feature_events=features.user_feature_days,
            adopters=adopters,
            histories=histories,
            histories_before=histories_before,
            activities_after=await user_activities(conn, rewritten),
        )
        await write_segment_rollups(conn, segment_changes(batch, declared, zones))


K = TypeVar("K")


def first_days_changed(changes: Mapping[K, tuple[list[date], list[date]]]) -> dict[K, tuple[date | None, date]]:
    """Keys whose first day changed: (first day before or None, first day after)."""
    changed: dict[K, tuple[date | None, date]] = {}
    for key, (before, after) in changes.items():
        first_before = before[0] if before else None
        if first_before != after[0]:
            changed[key] = (first_before, after[0])
    return changed


async def adopter_changes(
    conn: Statements, day_changes: Mapping[UserKey, DaysChange], use_changes: Mapping[UseKey, UsesChange]
) -> list[AdopterChange]:
    """Each adopter whose first active day or first use changed; a user's first active day moving earlier changes
    their delay for every feature they use."""
    user_first = first_days_changed(day_changes)
    use_first = first_days_changed(use_changes)
    adopted = await adopted_features(conn, user_first)
    changes: list[AdopterChange] = []
    for (project, user), (user_before, user_after) in user_first.items():
        for feature, first_use in adopted.get((project, user), []):
            use_before, use_after = use_first.get((project, feature, user), (first_use, first_use))
            changes.append(AdopterChange(project, feature, user, user_before, use_before, user_after, use_after))
    others = {(project, user) for project, _, user in use_first if (project, user) not in user_first}
    first_active = await first_active_days(conn, others)
    for (project, feature, user), (use_before, use_after) in use_first.items():
        if (project, user) in user_first:
            continue
        first = first_active[(project, user)]
        changes.append(AdopterChange(project, feature, user, first, use_before, first, use_after))
    return changes


async def adopted_features(conn: Statements, users: Mapping[UserKey, object]) -> dict[UserKey, list[tuple[str, date]]]:
    """Each user's features with their first day of use."""
    if not users:
        return {}
    keys = sorted(users)
    rows = await conn.fetch(
        """
        SELECT u.project, u.distinct_id, a.feature, a.first_day
        FROM unnest($1::text::text[], $2::text::text[]) AS u(project, distinct_id)
        CROSS JOIN LATERAL (
            SELECT a.feature, a.first_day FROM metrics.feature_adopters a
            WHERE a.project = u.project AND a.distinct_id = u.distinct_id
            OFFSET 0
        ) a
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
    )
    found: dict[UserKey, list[tuple[str, date]]] = {}
    for row in rows:
        found.setdefault((row["project"], row["distinct_id"]), []).append((row["feature"], row["first_day"]))
    return found


async def first_active_days(conn: Statements, users: set[UserKey]) -> dict[UserKey, date]:
    if not users:
        return {}
    keys = sorted(users)
    rows = await conn.fetch(
        """
        SELECT u.project, u.distinct_id, m.first_day
        FROM unnest($1::text::text[], $2::text::text[]) AS u(project, distinct_id)
        CROSS JOIN LATERAL (
            SELECT m.first_day FROM metrics.users m
            WHERE m.project = u.project AND m.distinct_id = u.distinct_id
            OFFSET 0
        ) m
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
    )
    return {(row["project"], row["distinct_id"]): row["first_day"] for row in rows}


async def erase_user(
    conn: Connection, project: str, distinct_id: str, traits: Sequence[str] = (), zone: ZoneInfo | None = None
) -> None:
    """Remove every contribution of one user: rollups first (from the user's rows; the segment rollups of the
    project's declared ``traits`` too), then the rows."""
    user = (project, distinct_id)
    if traits:
        await advisory_locks(conn, [("adoption-user", *user)])
    first_day = await conn.fetchval(
        "SELECT first_day FROM metrics.users WHERE project = $1 AND distinct_id = $2 FOR UPDATE", project, distinct_id
    )
    activity = (await user_activities(conn, [user]))[user]
    rollups = RollupChanges()
    rollups.change_active_days(project, activity.days, [])
    for (feature, day), events in activity.events.items():
        rollups.feature_events[(project, feature, day)] -= events
    for feature, used in activity.uses.items():
        rollups.change_feature_days(project, feature, used, [])
        rollups.change_adoption_delay(project, feature, days_between(first_day, used[0]), None)
    await write_rollups(conn, rollups)
    if traits and zone is not None:
        histories = await trait_histories(conn, [user], {project: traits})
        segments = SegmentChanges()
        for trait in traits:
            held = HeldValues(histories.get((project, distinct_id, trait), ()), zone)
            segments.change_user(project, trait, activity, held, UserActivity(), held)
        await write_segment_rollups(conn, segments)
    for table in USER_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE project = $1 AND distinct_id = $2", project, distinct_id)
    await conn.execute(
        "DELETE FROM metrics.identity_links WHERE project = $1 AND (user_id = $2 OR anonymous_id = $2)",
        project,
        distinct_id,
    )
