"""The release-health projection (product.md §5): sessions deduplicated by id (``session_state``), SDK aggregates,
and the rollups the release APIs read (``release_rollups``), from ``pulse.sessions.v1``.

A user's families (any / crashed / unhealthy session) depend on all their sessions of a release, which can arrive
on different partitions (a session's updates are keyed by its user, aggregates by release); a transaction-scoped
advisory lock per (project, release, environment, user), taken in one order, serializes consumers touching one
user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import SessionsAggregated, SessionStreamEvent, SessionUpdated
from pulse_common.runner import SourceRecord
from pulse_common.zones import ProjectZones
from pulse_metrics.projections.release_rollups import ReleaseRollupChanges, UserKey, user_hours
from pulse_metrics.projections.rollups import nonzero
from pulse_metrics.projections.session_state import Counts, SessionState, counts_of, local_hour, next_state

SessionKey = tuple[str, str]  # (project, session id)
AggregateKey = tuple[str, str, str, str, datetime]  # (project, release, environment, distinct id or '', started)


def aggregate_counts(event: SessionsAggregated) -> Counts:
    return Counts(
        sessions=event.exited + event.errored + event.crashed + event.abnormal,
        errored=event.errored,
        crashed=event.crashed,
        abnormal=event.abnormal,
    )


def user_of(project: str, state: SessionState) -> UserKey | None:
    if state.distinct_id is None:
        return None
    return (project, state.release, state.environment, state.distinct_id)


def session_footprint(state: SessionState, zone: ZoneInfo) -> tuple[datetime, tuple[str, ...]]:
    """What a session adds to its user's families: its hour and the families it puts them in."""
    return local_hour(state.started, zone), counts_of(state).kinds()


class ReleaseHealthProjection:
    name = "metrics.release_health"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.SESSIONS) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], SessionStreamEvent] = codec.decoder_for(SessionStreamEvent)
        self.zones = ProjectZones()

    def decode(self, record: SourceRecord) -> SessionStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[SessionStreamEvent]) -> None:
        zones = await self.zones.load(conn, (e.project for e in events))
        updates = [e for e in events if isinstance(e, SessionUpdated) and e.project in zones]
        aggregates = [e for e in events if isinstance(e, SessionsAggregated) and e.project in zones]
        # User deletion of release-health data comes with the deletion work (issue 9).
        if not updates and not aggregates:
            return
        session_keys = sorted({(e.project, e.session_id) for e in updates})
        await advisory_locks(conn, [("session", *key) for key in session_keys])
        stored = await load_sessions(conn, session_keys)
        current: dict[SessionKey, SessionState] = dict(stored)
        for update in updates:
            key = (update.project, update.session_id)
            after = next_state(current.get(key), update)
            if after is not None:
                current[key] = after
        changed = {key: state for key, state in current.items() if stored.get(key) != state}
        aggregate_totals: dict[AggregateKey, Counts] = {}
        for event in aggregates:
            bucket = (event.project, event.release, event.environment, event.distinct_id or "", event.started)
            counts = aggregate_counts(event)
            previous = aggregate_totals.get(bucket, Counts())
            aggregate_totals[bucket] = Counts(
                previous.sessions + counts.sessions,
                previous.errored + counts.errored,
                previous.crashed + counts.crashed,
                previous.abnormal + counts.abnormal,
            )

        rollups = ReleaseRollupChanges()
        for (project, session_id), state in changed.items():
            zone = zones[project]
            before = stored.get((project, session_id))
            if before is not None:
                rollups.add_counts(
                    (project, before.release, before.environment, local_hour(before.started, zone)),
                    counts_of(before),
                    -1,
                )
            rollups.add_counts(
                (project, state.release, state.environment, local_hour(state.started, zone)), counts_of(state), +1
            )
        for (project, release, environment, _, started), counts in aggregate_totals.items():
            rollups.add_counts((project, release, environment, local_hour(started, zones[project])), counts, +1)

        users = users_to_recount(stored, changed, aggregate_totals, zones)
        if users:
            await advisory_locks(conn, [("user", *user) for user in users])
            before_activity = await user_activity(conn, users, zones)
            await write_sessions(conn, changed)
            await write_aggregates(conn, aggregate_totals)
            after_activity = await user_activity(conn, users, zones)
            for user in users:
                rollups.change_user(
                    user, user_hours(before_activity.get(user, [])), user_hours(after_activity.get(user, []))
                )
        else:
            await write_sessions(conn, changed)
            await write_aggregates(conn, aggregate_totals)
        await write_release_rollups(conn, rollups)


def users_to_recount(
    stored: dict[SessionKey, SessionState],
    changed: dict[SessionKey, SessionState],
    aggregates: dict[AggregateKey, Counts],
    zones: dict[str, ZoneInfo],
) -> list[UserKey]:
    """Users whose families may change: a session of theirs is new or changed hour or health, or an aggregate of
    theirs arrived."""
    users: set[UserKey] = set()
    for key, state in changed.items():
        project = key[0]
        before = stored.get(key)
        zone = zones[project]
        unchanged_user = before is not None and user_of(project, before) == user_of(project, state)
        if unchanged_user and before is not None and session_footprint(before, zone) == session_footprint(state, zone):
            continue
        for candidate in (before, state):
            user = user_of(project, candidate) if candidate is not None else None
            if user is not None:
                users.add(user)
    for project, release, environment, distinct_id, _ in aggregates:
        if distinct_id:
            users.add((project, release, environment, distinct_id))
    return sorted(users)


async def load_sessions(conn: Connection, keys: Iterable[SessionKey]) -> dict[SessionKey, SessionState]:
    ordered = sorted(keys)
    if not ordered:
        return {}
    rows = await conn.fetch(
        """
        SELECT s.* FROM unnest($1::text[], $2::text[]) AS k(project, session_id)
        JOIN metrics.sessions s ON s.project = k.project AND s.session_id = k.session_id
        """,
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    return {(r["project"], r["session_id"]): state_of(r) for r in rows}


def state_of(row: asyncpg.Record) -> SessionState:
    return SessionState(
        release=row["release"],
        environment=row["environment"],
        distinct_id=row["distinct_id"],
        started=row["started"],
        status=row["status"],
        errors=row["errors"],
        updated_at=row["updated_at"],
    )


async def advisory_locks(conn: Connection, keys: Sequence[tuple[str, ...]]) -> None:
    """Transaction-scoped locks on sessions or users, taken in sorted order (no deadlocks between consumers)."""
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k",
            sorted({"\x1f".join(key) for key in keys}),
        )


async def user_activity(
    conn: Connection, users: Sequence[UserKey], zones: dict[str, ZoneInfo]
) -> dict[UserKey, list[tuple[datetime, Counts]]]:
    """Every session and aggregate of each user, as (local hour, counts)."""
    columns = ([u[0] for u in users], [u[1] for u in users], [u[2] for u in users], [u[3] for u in users])
    sessions = await conn.fetch(
        """
        SELECT s.project, s.release, s.environment, s.distinct_id, s.started, s.status, s.errors, s.updated_at
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(project, release, environment, distinct_id)
        JOIN metrics.sessions s ON s.project = u.project AND s.release = u.release
          AND s.environment = u.environment AND s.distinct_id = u.distinct_id
        """,
        *columns,
    )
    aggregates = await conn.fetch(
        """
        SELECT a.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
            AS u(project, release, environment, distinct_id)
        JOIN metrics.session_aggregates a ON a.project = u.project AND a.release = u.release
          AND a.environment = u.environment AND a.distinct_id = u.distinct_id
        """,
        *columns,
    )
    activity: dict[UserKey, list[tuple[datetime, Counts]]] = {}
    for r in sessions:
        zone = zones[r["project"]]
        state = state_of(r)
        key = (r["project"], r["release"], r["environment"], r["distinct_id"])
        activity.setdefault(key, []).append((local_hour(state.started, zone), counts_of(state)))
    for r in aggregates:
        zone = zones[r["project"]]
        key = (r["project"], r["release"], r["environment"], r["distinct_id"])
        counts = Counts(r["sessions"], r["errored"], r["crashed"], r["abnormal"])
        activity.setdefault(key, []).append((local_hour(r["started"], zone), counts))
    return activity


async def write_sessions(conn: Connection, changed: dict[SessionKey, SessionState]) -> None:
    if not changed:
        return
    keys = sorted(changed)
    states = [changed[k] for k in keys]
    await conn.execute(
        """
        INSERT INTO metrics.sessions
            (project, session_id, release, environment, distinct_id, started, status, errors, updated_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                             $7::text[], $8::int[], $9::timestamptz[])
        ON CONFLICT (project, session_id) DO UPDATE SET
            distinct_id = excluded.distinct_id, started = excluded.started, status = excluded.status,
            errors = excluded.errors, updated_at = excluded.updated_at
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [s.release for s in states],
        [s.environment for s in states],
        [s.distinct_id for s in states],
        [s.started for s in states],
        [s.status for s in states],
        [s.errors for s in states],
        [s.updated_at for s in states],
    )


async def write_aggregates(conn: Connection, totals: dict[AggregateKey, Counts]) -> None:
    if not totals:
        return
    keys = sorted(totals)
    counts = [totals[k] for k in keys]
    await conn.execute(
        """
        INSERT INTO metrics.session_aggregates AS a
            (project, release, environment, distinct_id, started, sessions, errored, crashed, abnormal)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                             $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
        ON CONFLICT (project, release, environment, distinct_id, started) DO UPDATE SET
            sessions = a.sessions + excluded.sessions, errored = a.errored + excluded.errored,
            crashed = a.crashed + excluded.crashed, abnormal = a.abnormal + excluded.abnormal
        """,
        *([k[i] for k in keys] for i in range(5)),
        [c.sessions for c in counts],
        [c.errored for c in counts],
        [c.crashed for c in counts],
        [c.abnormal for c in counts],
    )


async def write_release_rollups(conn: Connection, rollups: ReleaseRollupChanges) -> None:
    by_hour: dict[tuple[str, str, str, datetime], dict[str, int]] = {}
    for (project, release, environment, hour, column), n in nonzero(rollups.hours):
        by_hour.setdefault((project, release, environment, hour), {})[column] = n
    if by_hour:
        keys = sorted(by_hour)
        await conn.execute(
            """
            INSERT INTO metrics.release_hours AS h
                (project, release, environment, hour, sessions, errored, crashed, abnormal)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamp[],
                                 $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
            ON CONFLICT (project, release, environment, hour) DO UPDATE SET
                sessions = h.sessions + excluded.sessions, errored = h.errored + excluded.errored,
                crashed = h.crashed + excluded.crashed, abnormal = h.abnormal + excluded.abnormal
            """,
            *([k[i] for k in keys] for i in range(4)),
            *([by_hour[k].get(column, 0) for k in keys] for column in ("sessions", "errored", "crashed", "abnormal")),
        )
    links = nonzero(rollups.user_links)
    if links:
        await conn.execute(
            """
            INSERT INTO metrics.release_user_links AS l
                (project, release, environment, kind, hour, previous_day, users)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamp[], $6::date[],
                                 $7::int[])
            ON CONFLICT (project, release, environment, kind, hour, previous_day) DO UPDATE
            SET users = l.users + excluded.users
            """,
            *([key[i] for key, _ in links] for i in range(6)),
            [n for _, n in links],
        )
