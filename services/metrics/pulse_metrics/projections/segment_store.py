"""Reading what the segment rollups need: the declared traits, users' trait histories and whole activity.

A declaration (``segment_backfill``) and the adoption consumers exclude each other per project: a consumer takes a
shared advisory lock on the project before it reads the declared traits, a declaration an exclusive one, so no
batch is applied with a stale list of traits while the rollups of a new one are being computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import asyncpg

from pulse_common.array_params import text_array
from pulse_common.db import Connection, Statements
from pulse_metrics.projections.activity import UserKey, user_day_lists
from pulse_metrics.projections.segments import UserActivity

HistoryKey = tuple[str, str, str]  # (project, distinct id, trait)


def segments_lock_key(project: str) -> str:
    return f"segments\x1f{project}"


async def declared_traits(conn: Statements, projects: Iterable[str]) -> dict[str, list[str]]:
    """The traits each project segments by, under a shared lock per project until the transaction ends."""
    ordered = sorted(set(projects))
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k",
        [segments_lock_key(p) for p in ordered],
    )
    rows = await conn.fetch(
        "SELECT project, trait FROM metrics.segment_traits WHERE project = ANY($1::text[]) ORDER BY project, trait",
        ordered,
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["project"], []).append(row["trait"])
    return found


async def trait_declared(db: asyncpg.Pool | Connection, project: str, trait: str) -> bool:
    found = await db.fetchval("SELECT 1 FROM metrics.segment_traits WHERE project = $1 AND trait = $2", project, trait)
    return found is not None


async def trait_histories(
    conn: Statements, users: Iterable[UserKey], declared: Mapping[str, Sequence[str]]
) -> dict[HistoryKey, list[tuple[datetime, str | None]]]:
    """Each user's history of each declared trait of their project, as text values (``value #>> '{}'``, the text a
    segment's value is compared with), sorted by time."""
    keys = sorted(u for u in set(users) if u[0] in declared)
    if not keys:
        return {}
    traits = sorted({t for project, _ in keys for t in declared[project]})
    rows = await conn.fetch(
        """
        SELECT u.project, u.distinct_id, h.trait, h.valid_from, h.value
        FROM unnest($1::text::text[], $2::text::text[]) AS u(project, distinct_id)
        CROSS JOIN LATERAL (
            SELECT h.trait, h.valid_from, h.value #>> '{}' AS value FROM metrics.trait_history h
            WHERE h.project = u.project AND h.distinct_id = u.distinct_id AND h.trait = ANY($3::text[])
            OFFSET 0
        ) h
        ORDER BY u.project, u.distinct_id, h.trait, h.valid_from
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
        traits,
    )
    found: dict[HistoryKey, list[tuple[datetime, str | None]]] = {}
    for r in rows:
        if r["trait"] in declared[r["project"]]:
            found.setdefault((r["project"], r["distinct_id"], r["trait"]), []).append((r["valid_from"], r["value"]))
    return found


async def user_activities(conn: Statements, users: Iterable[UserKey]) -> dict[UserKey, UserActivity]:
    """Users' whole adoption history (read while their rows are locked)."""
    keys = sorted(set(users))
    if not keys:
        return {}
    days = await user_day_lists(conn, keys)
    found = {key: UserActivity(days=days[key]) for key in keys}
    rows = await conn.fetch(
        """
        SELECT u.project, u.distinct_id, f.feature, f.day, f.events
        FROM unnest($1::text::text[], $2::text::text[]) AS u(project, distinct_id)
        CROSS JOIN LATERAL (
            SELECT f.feature, f.day, f.events FROM metrics.user_feature_days f
            WHERE f.project = u.project AND f.distinct_id = u.distinct_id
            OFFSET 0
        ) f
        ORDER BY u.project, u.distinct_id, f.feature, f.day
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
    )
    for r in rows:
        activity = found[(r["project"], r["distinct_id"])]
        activity.uses.setdefault(r["feature"], []).append(r["day"])
        activity.events[(r["feature"], r["day"])] = r["events"]
    return found
