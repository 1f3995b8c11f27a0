"""The projections read what a batch needs by key: each of their statements reaches the large per-user and per-session
tables through an index, once per key, never by scanning the table and hashing or merging it with the batch's keys.
A scan costs the size of the table, which grows without bound, where a batch's probes cost its own size.

Each test fills the tables with a few thousand rows through the projections themselves, then applies one more batch
through a connection that asks Postgres for the plan of every statement before running it (the plan Postgres chooses for
those very parameters)."""

import json
import random
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import msgspec

from benchmarks.adoption_data import HistoryShape, usage_history
from benchmarks.feedback_data import Population, responses, sessions, usage
from benchmarks.release_health import session_updates
from pulse_common.db import Connection
from pulse_common.events import UsageEventRecorded
from pulse_common.projects import CreatedProject
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from pulse_metrics.projections.segment_backfill import declare_trait

# The benchmarks' data sets (skewed users, as in production), at a few thousand rows.
END = datetime(2026, 11, 2, tzinfo=UTC)
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
    """A real connection that, before each statement, records the plan Postgres chooses for it with those parameters."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.plans: list[tuple[str, dict[str, Any]]] = []

    async def execute(self, query: str, *args: Any) -> object:
        await self._explain(query, args)
        return await self._conn.execute(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        await self._explain(query, args)
        return cast(list[asyncpg.Record], await self._conn.fetch(query, *args))

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


def flat(chunks: Iterable[list[Any]]) -> list[Any]:
    return [event for chunk in chunks for event in chunk]


def signed_out(events: list[UsageEventRecorded], seed: int) -> list[UsageEventRecorded]:
    """The history in a random order, one track in ten sent before its user signed in (an anonymous id alone), so
    the identity links are read too."""
    rng = random.Random(seed)
    mixed = rng.sample(events, len(events))
    return [
        msgspec.structs.replace(
            e, user_id=None, anonymous_id=f"anon-{e.distinct_id}", distinct_id=f"anon-{e.distinct_id}"
        )
        if e.type == "track" and rng.random() < 0.1
        else e
        for e in mixed
    ]


# A projection's apply (each takes its own event type).
Apply = Callable[[Any, Any], Awaitable[None]]


async def plans_of_last_batch(
    pool: asyncpg.Pool, histories: list[tuple[Apply, list[Any]]], last: int
) -> list[tuple[str, dict[str, Any]]]:
    """Apply each (projection's apply, events) but its last ``last`` events in batches of that size, then those last
    ones through an explaining connection; the plans of every statement they sent."""
    for apply, events in histories:
        for i in range(0, len(events) - last, last):
            async with pool.acquire() as conn, conn.transaction():
                await apply(conn, events[i : min(i + last, len(events) - last)])
    async with pool.acquire() as conn, conn.transaction():
        explaining = ExplainingConnection(conn)
        for apply, events in histories:
            await apply(cast(Connection, explaining), events[-last:])
    return explaining.plans


def tables_read(plans: list[tuple[str, dict[str, Any]]]) -> set[str]:
    return {str(n.get("Relation Name")) for _, plan in plans for n in nodes(plan)}


async def test_release_health_reads_probe_per_key(pool: asyncpg.Pool, project: CreatedProject) -> None:
    updates = flat(session_updates(project.project, 10_000, 2_000, 30, 5, END))
    plans = await plans_of_last_batch(pool, [(ReleaseHealthProjection(pool).apply, updates)], 4_000)
    assert {"sessions", "release_user_hours"} <= tables_read(plans)  # the reads under test did run
    assert whole_table_reads(plans) == []
    # A user's hours in one release: through the primary key, not the index by user (all their releases).
    user_hour_reads = [plan for query, plan in plans if "h.crashed, h.unhealthy FROM" in query]
    assert user_hour_reads
    for plan in user_hour_reads:
        assert {n.get("Index Name") for n in nodes(plan) if n.get("Relation Name") == "release_user_hours"} == {
            "release_user_hours_pkey"
        }


async def test_adoption_reads_probe_per_key(pool: asyncpg.Pool, project: CreatedProject) -> None:
    async with pool.acquire() as conn:
        await declare_trait(conn, project.project, "plan")
    shape = HistoryShape(users=3_000, events=28_000, days=60, features=20, last_day=END.date())
    events = signed_out(flat(usage_history(project.project, shape)), seed=1)
    plans = await plans_of_last_batch(pool, [(AdoptionProjection(pool).apply, events)], 4_000)
    assert {"user_days", "user_feature_days", "feature_adopters", "identity_links", "trait_history"} <= tables_read(
        plans
    )
    assert whole_table_reads(plans) == []


async def test_feedback_reads_probe_per_key(pool: asyncpg.Pool, project: CreatedProject) -> None:
    name, population = project.project, Population.generate(3_000, seed=1)
    histories: list[tuple[Apply, list[Any]]] = [
        (CrashesProjection(pool).apply, flat(sessions(name, population, 30, END, share=1.0))),
        (SatisfactionProjection(pool).apply, flat(responses(name, 15_000, population, 60, END))),
        (UsageContextProjection(pool).apply, flat(usage(name, population, 60, END))),
    ]
    plans = await plans_of_last_batch(pool, histories, 3_000)
    assert {"session_states", "responses"} <= tables_read(plans)
    assert whole_table_reads(plans) == []
