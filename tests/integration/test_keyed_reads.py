"""The projections read what a batch needs by key: each of their statements reaches the large per-user and per-session
tables through an index, once per key, never by scanning the table and hashing or merging it with the batch's keys.
A scan costs the size of the table, which grows without bound, where a batch's probes cost its own size.

Each test fills the tables with a few thousand rows through the projection itself, then applies one more batch
through a connection that asks Postgres for the plan of every statement before running it (the plan Postgres chooses for
those very parameters)."""

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import msgspec

from pulse_common.db import Connection
from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded
from pulse_common.projects import CreatedProject
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from pulse_metrics.projections.segment_backfill import declare_trait
from tests.helpers import usage_event

START = datetime(2026, 9, 1, tzinfo=UTC)
# Tables that grow with users, sessions and days; the small per-project ones may be scanned.
LARGE_TABLES = {
    "sessions",
    "release_user_hours",
    "user_days",
    "users",
    "user_feature_days",
    "feature_adopters",
    "identity_links",
    "trait_history",
    "user_traits",
    "session_states",
    "responses",
}
# Statements EXPLAIN can plan without running them (EXPLAIN without ANALYZE executes nothing).
PLANNABLE = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")


class ExplainingConnection:
    """A real connection that, before each read, records the plan Postgres chooses for it with those parameters."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.plans: list[tuple[str, dict[str, Any]]] = []

    async def execute(self, query: str, *args: Any) -> object:
        await self._explain(query, args)
        return await self._conn.execute(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        await self._explain(query, args)
        return cast(list[asyncpg.Record], await self._conn.fetch(query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        await self._explain(query, args)
        return await self._conn.fetchval(query, *args)

    async def _explain(self, query: str, args: tuple[Any, ...]) -> None:
        if query.lstrip().upper().startswith(PLANNABLE):
            plan = await self._conn.fetchval("EXPLAIN (FORMAT JSON) " + query, *args)
            self.plans.append((query, json.loads(plan)[0]["Plan"]))


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def whole_table_reads(plans: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Reads that scan a large table, or join one by hashing or merging instead of probing it per key."""
    found = []
    for query, plan in plans:
        for node in nodes(plan):
            table = node.get("Relation Name")
            if node["Node Type"] == "Seq Scan" and table in LARGE_TABLES:
                found.append(f"Seq Scan on {table} in: {' '.join(query.split())[:160]}")
            if node["Node Type"] in ("Hash Join", "Merge Join"):
                joined = {str(n.get("Relation Name")) for n in nodes(node)} & LARGE_TABLES
                if joined:
                    found.append(f"{node['Node Type']} over {sorted(joined)} in: {' '.join(query.split())[:160]}")
    return found


def session_updates(project: str, sessions: int, users: int, seed: int) -> list[SessionUpdated]:
    rng = random.Random(seed)
    updates = []
    for s in range(sessions):
        started = START + timedelta(seconds=rng.random() * 30 * 86_400)
        user = f"user-{int(users * rng.random() ** 2)}"
        release = f"app@{1 + int((started - START).days / 6)}.0"
        final = rng.choice(["exited", "exited", "crashed", "abnormal"])
        for status, at, init in (("ok", started, True), (final, started + timedelta(minutes=9), False)):
            updates.append(
                SessionUpdated(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=at,
                    session_id=f"{seed}-s{s}",
                    distinct_id=user,
                    init=init,
                    started=started,
                    timestamp=at,
                    status=status,  # type: ignore[arg-type]
                    errors=0,
                    release=release,
                    environment="production",
                )
            )
    return updates


def usage_events(project: str, count: int, users: int, seed: int) -> list[UsageEventRecorded]:
    """Tracks of 20 features by users active over 60 days, with identify calls carrying a plan and an anonymous
    id (so links and trait history are read too)."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        user = f"user-{int(users * rng.random() ** 2)}"
        when = START + timedelta(seconds=rng.random() * 60 * 86_400)
        event = usage_event(project, user, f"feature-{rng.randrange(20)}", when, message_id=f"{seed}-{i}")
        if rng.random() < 0.1:  # before they sign in
            anonymous = f"anon-{user}"
            event = msgspec.structs.replace(event, user_id=None, anonymous_id=anonymous, distinct_id=anonymous)
        elif rng.random() < 0.1:
            event = UsageEventRecorded(
                event_id=event.event_id,
                project=project,
                received_at=event.received_at,
                type="identify",
                message_id=event.message_id,
                user_id=user,
                anonymous_id=f"anon-{user}",
                distinct_id=user,
                timestamp=when,
                traits={"plan": rng.choice(["free", "team", "enterprise"])},
            )
        events.append(event)
    return events


def feedback_responses(project: str, count: int, users: int, seed: int) -> list[FeedbackResponded]:
    rng = random.Random(seed)
    responses = []
    for i in range(count):
        user = f"user-{int(users * rng.random() ** 2)}"
        when = START + timedelta(seconds=rng.random() * 60 * 86_400)
        responses.append(
            FeedbackResponded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=when,
                message_id=f"{seed}-r{i}",
                distinct_id=user,
                user_id=user,
                kind="nps",
                score=rng.randrange(11),
                comment=rng.choice([None, "export is slow", "love the new dashboard", "search finds nothing"]),
                timestamp=when,
            )
        )
    return responses


async def apply_in_batches(pool: asyncpg.Pool, apply: Any, events: list[Any], batch: int) -> None:
    for i in range(0, len(events), batch):
        async with pool.acquire() as conn, conn.transaction():
            await apply(conn, events[i : i + batch])


async def test_release_health_reads_probe_per_key(pool: asyncpg.Pool, project: CreatedProject) -> None:
    projection = ReleaseHealthProjection(pool)
    await apply_in_batches(pool, projection.apply, session_updates(project.project, 8_000, 2_000, seed=1), 4_000)
    async with pool.acquire() as conn, conn.transaction():
        explaining = ExplainingConnection(conn)
        await projection.apply(cast(Connection, explaining), session_updates(project.project, 2_000, 2_000, seed=2))
    read_tables = {n.get("Relation Name") for _, plan in explaining.plans for n in nodes(plan)}
    assert {"sessions", "release_user_hours"} <= read_tables  # the reads under test did run
    assert whole_table_reads(explaining.plans) == []
    # A user's hours in one release: through the primary key, not the index by user (all their releases).
    user_hour_reads = [plan for query, plan in explaining.plans if "h.crashed, h.unhealthy FROM" in query]
    assert user_hour_reads
    for plan in user_hour_reads:
        assert {n.get("Index Name") for n in nodes(plan) if n.get("Relation Name") == "release_user_hours"} == {
            "release_user_hours_pkey"
        }


async def test_adoption_reads_probe_per_key(pool: asyncpg.Pool, project: CreatedProject) -> None:
    async with pool.acquire() as conn:
        await declare_trait(conn, project.project, "plan")
    projection = AdoptionProjection(pool)
    await apply_in_batches(pool, projection.apply, usage_events(project.project, 24_000, 3_000, seed=1), 6_000)
    async with pool.acquire() as conn, conn.transaction():
        explaining = ExplainingConnection(conn)
        await projection.apply(cast(Connection, explaining), usage_events(project.project, 4_000, 3_000, seed=2))
    read_tables = {n.get("Relation Name") for _, plan in explaining.plans for n in nodes(plan)}
    assert {"user_days", "user_feature_days", "feature_adopters", "identity_links", "trait_history"} <= read_tables
    assert whole_table_reads(explaining.plans) == []


async def test_feedback_reads_probe_per_key(pool: asyncpg.Pool, project: CreatedProject) -> None:
    name = project.project
    crashes, satisfaction, context = CrashesProjection(pool), SatisfactionProjection(pool), UsageContextProjection(pool)
    await apply_in_batches(pool, crashes.apply, session_updates(name, 8_000, 2_000, seed=1), 4_000)
    await apply_in_batches(pool, satisfaction.apply, feedback_responses(name, 12_000, 3_000, seed=1), 4_000)
    await apply_in_batches(pool, context.apply, usage_events(name, 12_000, 3_000, seed=1), 4_000)
    async with pool.acquire() as conn, conn.transaction():
        explaining = ExplainingConnection(conn)
        as_connection = cast(Connection, explaining)
        await crashes.apply(as_connection, session_updates(name, 2_000, 2_000, seed=2))
        await satisfaction.apply(as_connection, feedback_responses(name, 3_000, 3_000, seed=2))
        await context.apply(as_connection, usage_events(name, 3_000, 3_000, seed=2))
    read_tables = {n.get("Relation Name") for _, plan in explaining.plans for n in nodes(plan)}
    assert {"session_states", "responses"} <= read_tables
    assert whole_table_reads(explaining.plans) == []
