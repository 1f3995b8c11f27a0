"""What the feedback service keeps of ``pulse.usage.v1`` (it never reads the metrics service's tables): identify
traits with the event time they were set at, for segments and trait breakdowns, and when each user first used each
feature, for the adopters-vs-not experience breakdown. A trait change or an earlier first use recomputes the
traits and adopted features of the user's responses (each as of the end of its local day) and moves them between
score-day rollup groups, so a late identify or a late first use restates them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import msgspec

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import UsageEventRecorded, UsageStreamEvent, UserDeleted
from pulse_common.features import feature_of, load_feature_map
from pulse_common.runner import SourceRecord
from pulse_feedback.projections.response_rows import ScoreDayKey, score_day_changes
from pulse_feedback.projections.satisfaction import add_score_days, groups_of
from pulse_feedback.projections.user_locks import lock_users

ACTIVE_TYPES = frozenset({"track", "page", "screen"})
TraitKey = tuple[str, str, str, datetime]  # (project, distinct id, trait, changed at)
AdopterKey = tuple[str, str, str]  # (project, feature, distinct id)


@dataclass
class ContextChanges:
    traits: dict[TraitKey, str] = field(default_factory=dict)  # -> JSON value
    first_use: dict[AdopterKey, datetime] = field(default_factory=dict)
    erased: set[tuple[str, str]] = field(default_factory=set)


def context_changes(
    events: Iterable[UsageStreamEvent], feature_for: Callable[[UsageEventRecorded], str | None]
) -> ContextChanges:
    """Pure: the trait changes, first uses and erasures of a batch, in order (a deletion drops what its user did
    earlier in the batch; what they do after it stays)."""
    changes = ContextChanges()
    for event in events:
        if isinstance(event, UserDeleted):
            user = (event.project, event.distinct_id)
            changes.erased.add(user)
            changes.traits = {k: v for k, v in changes.traits.items() if (k[0], k[1]) != user}
            changes.first_use = {k: v for k, v in changes.first_use.items() if (k[0], k[2]) != user}
            continue
        if event.type == "identify":
            for trait, value in event.traits.items():
                changes.traits[(event.project, event.distinct_id, trait, event.timestamp)] = msgspec.json.encode(
                    value
                ).decode()
        elif event.type in ACTIVE_TYPES:
            feature = feature_for(event)
            if feature is not None:
                key = (event.project, feature, event.distinct_id)
                earlier = changes.first_use.get(key)
                changes.first_use[key] = event.timestamp if earlier is None else min(earlier, event.timestamp)
    return changes


class UsageContextProjection:
    name = "feedback.usage_context"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.USAGE) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], UsageStreamEvent] = codec.decoder_for(UsageStreamEvent)

    def decode(self, record: SourceRecord) -> UsageStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        mapping = await load_feature_map(conn, {e.project for e in events})
        changes = context_changes(events, lambda event: feature_of(event, mapping))
        if changes.erased:
            await erase_context(conn, sorted(changes.erased))
        users = {(k[0], k[1]) for k in changes.traits} | {(k[0], k[2]) for k in changes.first_use}
        if not users:
            return
        # Responses of these users may change context (traits, features adopted): lock them against the
        # satisfaction projection writing their responses meanwhile.
        await lock_users(conn, sorted(users))
        changed = await write_first_use(conn, changes.first_use) if changes.first_use else set()
        if changes.traits:
            await write_traits(conn, changes.traits)
            changed |= {(k[0], k[1]) for k in changes.traits}
        if changed:
            await add_score_days(conn, await refresh_response_context(conn, sorted(changed)))


async def erase_context(conn: Connection, users: Sequence[tuple[str, str]]) -> None:
    projects, ids = [u[0] for u in users], [u[1] for u in users]
    for table in ("feedback.trait_changes", "feedback.feature_adopters"):
        await conn.execute(
            f"DELETE FROM {table} t USING unnest($1::text[], $2::text[]) AS u(project, distinct_id) "
            "WHERE t.project = u.project AND t.distinct_id = u.distinct_id",
            projects,
            ids,
        )


async def write_first_use(conn: Connection, first_use: dict[AdopterKey, datetime]) -> set[tuple[str, str]]:
    """Record first uses; returns the (project, user) whose first use of some feature is new or earlier."""
    keys = sorted(first_use)
    rows = await conn.fetch(
        """
        INSERT INTO feedback.feature_adopters AS a (project, feature, distinct_id, first_used_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
        ON CONFLICT (project, feature, distinct_id) DO UPDATE SET first_used_at = excluded.first_used_at
        WHERE excluded.first_used_at < a.first_used_at
        RETURNING project, distinct_id
        """,
        *([k[i] for k in keys] for i in range(3)),
        [first_use[k] for k in keys],
    )
    return {(r["project"], r["distinct_id"]) for r in rows}


async def write_traits(conn: Connection, traits: dict[TraitKey, str]) -> None:
    keys = sorted(traits)
    await conn.execute(
        """
        INSERT INTO feedback.trait_changes AS t (project, distinct_id, trait, changed_at, value)
        SELECT project, distinct_id, trait, changed_at, value::jsonb
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
            AS n(project, distinct_id, trait, changed_at, value)
        ON CONFLICT (project, distinct_id, trait, changed_at) DO UPDATE SET value = excluded.value
        """,
        *([k[i] for k in keys] for i in range(4)),
        [traits[k] for k in keys],
    )


async def refresh_response_context(conn: Connection, users: Sequence[tuple[str, str]]) -> Counter[ScoreDayKey]:
    """Recompute the traits and adopted features of these users' responses (only rows that change are written);
    returns the score-day changes moving them from their old context groups to their new ones."""
    rows = await conn.fetch(
        """
        WITH recomputed AS (
            SELECT r.project, r.response_id, r.kind, r.day, r.score, r.traits AS old_traits,
                   r.adopted AS old_adopted,
                   feedback.traits_at(r.project, r.distinct_id, r.day_end) AS new_traits,
                   feedback.adopted_at(r.project, r.distinct_id, r.day_end) AS new_adopted
            FROM unnest($1::text[], $2::text[]) AS u(project, distinct_id)
            CROSS JOIN LATERAL (
                SELECT * FROM feedback.responses r
                WHERE r.project = u.project AND r.distinct_id = u.distinct_id
                OFFSET 0
            ) r
        )
        UPDATE feedback.responses r SET traits = c.new_traits, adopted = c.new_adopted
        FROM recomputed c
        WHERE r.project = c.project AND r.response_id = c.response_id
          AND (c.old_traits, c.old_adopted) IS DISTINCT FROM (c.new_traits, c.new_adopted)
        RETURNING c.project, c.kind, c.day, c.score,
            ARRAY(SELECT g.dimension FROM feedback.context_groups(c.old_traits, c.old_adopted) g) AS old_dimensions,
            ARRAY(SELECT g.value FROM feedback.context_groups(c.old_traits, c.old_adopted) g) AS old_values,
            ARRAY(SELECT g.dimension FROM feedback.context_groups(c.new_traits, c.new_adopted) g) AS dimensions,
            ARRAY(SELECT g.value FROM feedback.context_groups(c.new_traits, c.new_adopted) g) AS group_values
        """,
        [u[0] for u in users],
        [u[1] for u in users],
    )
    changes: Counter[ScoreDayKey] = Counter()
    for r in rows:
        key = (r["project"], r["kind"], r["day"], r["score"])
        changes.update(score_day_changes([(*key, groups_of(r["old_dimensions"], r["old_values"]))], -1))
        changes.update(score_day_changes([(*key, groups_of(r["dimensions"], r["group_values"]))], +1))
    return changes
