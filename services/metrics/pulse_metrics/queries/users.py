"""One user's profile: traits, activity span, features used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeAlias

import asyncpg

from pulse_common.db import Connection

Db: TypeAlias = "asyncpg.Pool | Connection"


@dataclass(frozen=True)
class UserProfile:
    traits: dict[str, Any]
    first_active_day: date | None
    last_active_day: date | None
    active_days: int
    features: list[dict[str, Any]]


async def user_profile(db: Db, project: str, distinct_id: str) -> UserProfile | None:
    traits = await db.fetch(
        "SELECT trait, value::text AS value FROM metrics.user_traits WHERE project = $1 AND distinct_id = $2 "
        "ORDER BY trait",
        project,
        distinct_id,
    )
    span = await db.fetchrow(
        "SELECT first_day, last_day, (SELECT count(*) FROM metrics.user_days d "
        "  WHERE d.project = u.project AND d.distinct_id = u.distinct_id) AS active_days "
        "FROM metrics.users u WHERE project = $1 AND distinct_id = $2",
        project,
        distinct_id,
    )
    features = await db.fetch(
        "SELECT a.feature, a.first_day, (SELECT sum(f.events)::bigint FROM metrics.user_feature_days f "
        "  WHERE f.project = a.project AND f.feature = a.feature AND f.distinct_id = a.distinct_id) AS events "
        "FROM metrics.feature_adopters a WHERE a.project = $1 AND a.distinct_id = $2 ORDER BY a.first_day, a.feature",
        project,
        distinct_id,
    )
    if not traits and span is None and not features:
        return None
    return UserProfile(
        traits={r["trait"]: json.loads(r["value"]) for r in traits},
        first_active_day=span["first_day"] if span else None,
        last_active_day=span["last_day"] if span else None,
        active_days=span["active_days"] if span else 0,
        features=[
            {"feature": r["feature"], "first_used": r["first_day"].isoformat(), "events": r["events"]} for r in features
        ],
    )
