"""The release-health projection (product.md §5): sessions deduplicated by id (``session_state``), SDK aggregates,
and the rollups the release APIs read (``release_rollups``), from ``pulse.sessions.v1``.

A user's families (any / crashed / unhealthy session) are recomputed from the user's session counts per local hour
(``release_user_hours``), so the work is bounded by their active hours however many sessions they have. Those can
arrive on different partitions (a session's updates are keyed by its user, aggregates by release): a
transaction-scoped advisory lock per (project, release, environment, user), taken in one order, serializes
consumers touching one user. Reads by key probe per key (``pulse_common.db.Statements``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from pulse_common import codec, topics
from pulse_common.array_params import int_array, text_array, text_columns
from pulse_common.db import Connection, Statements, advisory_locks
from pulse_common.events import SessionsAggregated, SessionStreamEvent, SessionUpdated, UserDeleted, split_at_erasures
from pulse_common.runner import SourceRecord
from pulse_common.session_state import SessionState, changed_sessions
from pulse_common.write_behind import WriteBehind
from pulse_common.zones import ProjectZones
from pulse_metrics.projections.release_rollups import (
    EnvironmentUserKey,
    ReleaseRollupChanges,
    UserHourKey,
    UserKey,
    environment_changes,
    environment_hours,
    environment_windows,
    user_hours,
)
from pulse_metrics.projections.rollups import nonzero
from pulse_metrics.projections.session_state import Counts, counts_of, local_hour

SessionKey = tuple[str, str]  # (project, session id)
AggregateKey = tuple[str, str, str, str, datetime]  # (project, release, environment, distinct id or '', started)


def aggregate_counts(event: SessionsAggregated) -> Counts:
    return Counts(
        sessions=event.exited + event.errored + event.crashed + event.abnormal,
        errored=event.errored,
        crashed=event.crashed,
        abnormal=event.abnormal,
    )


class ReleaseHealthProjection:
    name = "metrics.release_health"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.SESSIONS) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], SessionStreamEvent] = codec.decoder_for(SessionStreamEvent)
        self.zones = ProjectZones()

    def decode(self, record: SourceRecord) -> SessionStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[SessionStreamEvent]) -> None:
        async with WriteBehind(conn) as db:
            for part in split_at_erasures(events):
                if isinstance(part, UserDeleted):
                    zones = await self.zones.load(db, [part.project])
                    if part.project in zones:
                        await erase_user(db, part.project, part.distinct_id, zones[part.project])
                else:
                    await self._apply_run(db, part)

    async def _apply_run(self, db: WriteBehind, events: Sequence[SessionStreamEvent]) -> None:
        """Writes are sent behind (``WriteBehind``): the Python work after each overlaps Postgres executing it."""
        if not events:
            return
        zones = await self.zones.load(db, (e.project for e in events))
        updates = [e for e in events if isinstance(e, SessionUpdated) and e.project in zones]
        aggregates = [e for e in events if isinstance(e, SessionsAggregated) and e.project in zones]
        if not updates and not aggregates:
            return
        session_keys = sorted({(e.project, e.session_id) for e in updates})
        await advisory_locks(db, [("session", *key) for key in session_keys])
        stored = await load_sessions(db, session_keys)
        changed = changed_sessions(stored, updates)
        await write_sessions(db, changed)
        aggregate_totals: dict[AggregateKey, Counts] = {}
        for event in aggregates:
            bucket = (event.project, event.release, event.environment, event.distinct_id or "", event.started)
            aggregate_totals[bucket] = aggregate_totals.get(bucket, Counts()).plus(aggregate_counts(event))

        rollups = ReleaseRollupChanges()
        # (project, release, environment, user, local hour) -> change of that user's counts in that hour
        user_deltas: dict[UserHourKey, Counts] = {}

        def count(project: str, release: str, environment: str, user: str | None, hour: datetime, c: Counts) -> None:
            rollups.add_counts((project, release, environment, hour), c, +1)
            if user:
                key = (project, release, environment, user, hour)
                user_deltas[key] = user_deltas.get(key, Counts()).plus(c)

        for (project, session_id), state in changed.items():
            zone = zones[project]
            before = stored.get((project, session_id))
            if before is not None:
                hour = local_hour(before.started, zone)
                count(
                    project, before.release, before.environment, before.distinct_id, hour, counts_of(before).times(-1)
                )
            hour = local_hour(state.started, zone)
            count(project, state.release, state.environment, state.distinct_id, hour, counts_of(state))
        for (project, release, environment, user, started), counts in aggregate_totals.items():
            count(project, release, environment, user, local_hour(started, zones[project]), counts)

        await write_aggregates(db, aggregate_totals)
        changed_hours = {key: delta for key, delta in user_deltas.items() if delta != Counts()}
        if changed_hours:
            await recount_users(db, changed_hours, rollups)
        await write_release_rollups(db, rollups)


async def erase_user(conn: Statements, project: str, distinct_id: str, zone: ZoneInfo) -> None:
    """Take one user's sessions and SDK aggregates out of every release-health rollup (user_deleted), then their
    rows: the counts are as if the user had never sent a session."""
    sessions = await conn.fetch(
        "SELECT * FROM metrics.sessions WHERE project = $1 AND distinct_id = $2 ORDER BY session_id",
        project,
        distinct_id,
    )
    await advisory_locks(conn, [("session", project, r["session_id"]) for r in sessions])
    user_scopes = await conn.fetch(
        "SELECT DISTINCT release, environment FROM metrics.release_user_hours "
        "WHERE project = $1 AND distinct_id = $2 ORDER BY release, environment",
        project,
        distinct_id,
    )
    users: list[UserKey] = [(project, r["release"], r["environment"], distinct_id) for r in user_scopes]
    environment_users = sorted({(project, r["environment"], distinct_id) for r in user_scopes})
    await advisory_locks(
        conn, [("user", *user) for user in users] + [("environment-user", *user) for user in environment_users]
    )
    aggregates = await conn.fetch(
        "DELETE FROM metrics.session_aggregates WHERE project = $1 AND distinct_id = $2 "
        "RETURNING release, environment, started, sessions, errored, crashed, abnormal",
        project,
        distinct_id,
    )
    rollups = ReleaseRollupChanges()
    for row in sessions:
        state = state_of(row)
        hour = local_hour(state.started, zone)
        rollups.add_counts((project, state.release, state.environment, hour), counts_of(state), -1)
    for row in aggregates:
        counts = Counts(
            sessions=row["sessions"], errored=row["errored"], crashed=row["crashed"], abnormal=row["abnormal"]
        )
        rollups.add_counts((project, row["release"], row["environment"], local_hour(row["started"], zone)), counts, -1)
    hours_before = await user_hour_counts(conn, users)
    for user in users:
        rollups.change_user(user, user_hours(hours_before.get(user, {}).items()), user_hours([]))
    for environment_user, hours in environment_hours(hours_before).items():
        rollups.change_environment_user(environment_user, hours, set())
    await conn.execute(
        "DELETE FROM metrics.release_user_hours WHERE project = $1 AND distinct_id = $2", project, distinct_id
    )
    await conn.execute("DELETE FROM metrics.sessions WHERE project = $1 AND distinct_id = $2", project, distinct_id)
    await write_release_rollups(conn, rollups)
    # Hours left with nothing in them: as if no session had been counted there (a release seen only by this user
    # is no longer listed).
    emptied = sorted({key[:4] for key in rollups.hours})
    await conn.execute(
        """
        DELETE FROM metrics.release_hours h
        USING unnest($1::text[], $2::text[], $3::text[], $4::timestamp[]) AS k(project, release, environment, hour)
        WHERE h.project = k.project AND h.release = k.release AND h.environment = k.environment AND h.hour = k.hour
          AND h.sessions = 0 AND h.errored = 0 AND h.crashed = 0 AND h.abnormal = 0
        """,
        *([k[i] for k in emptied] for i in range(4)),
    )


async def recount_users(db: WriteBehind, deltas: dict[UserHourKey, Counts], rollups: ReleaseRollupChanges) -> None:
    """Users whose counts in some hour changed: their families before and after, from their hour counts (bounded by
    their active hours however many sessions they have), under a lock per user; and for those whose sessions
    changed, their active hours over the environment's releases, under a lock per user and environment."""
    users = sorted({(key[0], key[1], key[2], key[3]) for key in deltas})
    windows = environment_windows(deltas)
    environment_users = sorted(windows)
    await advisory_locks(
        db, [("user", *user) for user in users] + [("environment-user", *user) for user in environment_users]
    )
    before = await user_hour_counts(db, users)
    # Read before the user hours are written below; the users' families are computed meanwhile.
    environment_rows = await db.fetch_soon(ENVIRONMENT_HOURS, *environment_hour_arguments(windows))
    after = {user: dict(hours) for user, hours in before.items()}
    for (project, release, environment, user_id, hour), delta in deltas.items():
        hours = after.setdefault((project, release, environment, user_id), {})
        hours[hour] = hours.get(hour, Counts()).plus(delta)
    for user in users:
        rollups.change_user(user, user_hours(before.get(user, {}).items()), user_hours(after.get(user, {}).items()))
    sessions = environment_hour_sessions(await environment_rows)
    await write_user_hours(db, deltas)
    for environment_user, (hours_before, hours_after) in environment_changes(sessions, deltas).items():
        rollups.change_environment_user(environment_user, hours_before, hours_after)


async def load_sessions(conn: Statements, keys: Iterable[SessionKey]) -> dict[SessionKey, SessionState]:
    ordered = sorted(keys)
    if not ordered:
        return {}
    rows = await conn.fetch(
        """
        SELECT s.* FROM unnest($1::text::text[], $2::text::text[]) AS k(project, session_id)
        CROSS JOIN LATERAL (
            SELECT * FROM metrics.sessions s WHERE s.project = k.project AND s.session_id = k.session_id OFFSET 0
        ) s
        """,
        text_array([k[0] for k in ordered]),
        text_array([k[1] for k in ordered]),
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


async def user_hour_counts(conn: Statements, users: Sequence[UserKey]) -> dict[UserKey, dict[datetime, Counts]]:
    """Each user's counts per local hour (``errored`` holds the unhealthy sessions that did not crash)."""
    rows = await conn.fetch(
        """
        SELECT u.project, u.release, u.environment, u.distinct_id, h.hour, h.sessions, h.crashed, h.unhealthy
        FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[])
            AS u(project, release, environment, distinct_id)
        CROSS JOIN LATERAL (
            SELECT h.hour, h.sessions, h.crashed, h.unhealthy FROM metrics.release_user_hours h
            WHERE h.project = u.project AND h.release = u.release AND h.environment = u.environment
              AND h.distinct_id = u.distinct_id
              -- True of every row; a bound only the primary key's column order can use, so the probe goes
              -- through it rather than the smaller index by user, which would read the user's every release.
              AND (h.project, h.release, h.environment, h.distinct_id, h.hour)
                  >= (u.project, u.release, u.environment, u.distinct_id, '-infinity'::timestamp)
            OFFSET 0
        ) h
        """,
        *text_columns(users, 4),
    )
    found: dict[UserKey, dict[datetime, Counts]] = {}
    for r in rows:
        user = (r["project"], r["release"], r["environment"], r["distinct_id"])
        found.setdefault(user, {})[r["hour"]] = Counts(
            sessions=r["sessions"], errored=r["unhealthy"] - r["crashed"], crashed=r["crashed"]
        )
    return found


# Each (project, environment, user)'s sessions per local hour over every release of the environment, within the
# user's window (first and last hour included).
ENVIRONMENT_HOURS = """
    SELECT u.project, u.environment, u.distinct_id, h.hour, h.sessions
    FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::timestamp[], $5::timestamp[])
         AS u(project, environment, distinct_id, low, high)
    CROSS JOIN LATERAL (
        SELECT h.hour, sum(h.sessions)::bigint AS sessions FROM metrics.release_user_hours h
        WHERE h.project = u.project AND h.distinct_id = u.distinct_id AND h.environment = u.environment
          AND h.hour >= u.low AND h.hour <= u.high
        GROUP BY h.hour
    ) h
"""


def environment_hour_arguments(windows: dict[EnvironmentUserKey, tuple[datetime, datetime]]) -> list[object]:
    users = sorted(windows)
    return [
        *text_columns(users, 3),
        [windows[u][0] for u in users],
        [windows[u][1] for u in users],
    ]


def environment_hour_sessions(rows: Iterable[asyncpg.Record]) -> dict[EnvironmentUserKey, dict[datetime, int]]:
    """The rows of ``ENVIRONMENT_HOURS`` by user and hour."""
    found: dict[EnvironmentUserKey, dict[datetime, int]] = {}
    for r in rows:
        found.setdefault((r["project"], r["environment"], r["distinct_id"]), {})[r["hour"]] = r["sessions"]
    return found


async def write_user_hours(conn: Statements, deltas: dict[UserHourKey, Counts]) -> None:
    keys = sorted(deltas)
    await conn.execute(
        """
        INSERT INTO metrics.release_user_hours AS h
            (project, release, environment, distinct_id, hour, sessions, crashed, unhealthy)
        SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[], $5::timestamp[],
                             $6::text::bigint[], $7::text::bigint[], $8::text::bigint[])
        ON CONFLICT (project, release, environment, distinct_id, hour) DO UPDATE SET
            sessions = h.sessions + excluded.sessions, crashed = h.crashed + excluded.crashed,
            unhealthy = h.unhealthy + excluded.unhealthy
        """,
        *text_columns(keys, 4),
        [k[4] for k in keys],
        int_array([deltas[k].sessions for k in keys]),
        int_array([deltas[k].crashed for k in keys]),
        int_array([deltas[k].errored + deltas[k].crashed + deltas[k].abnormal for k in keys]),
    )


async def write_sessions(conn: Statements, changed: dict[SessionKey, SessionState]) -> None:
    if not changed:
        return
    keys = sorted(changed)
    states = [changed[k] for k in keys]
    await conn.execute(
        """
        INSERT INTO metrics.sessions
            (project, session_id, release, environment, distinct_id, started, status, errors, updated_at)
        SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[],
                             $5::text::text[], $6::timestamptz[], $7::text::text[], $8::text::int[], $9::timestamptz[])
        ON CONFLICT (project, session_id) DO UPDATE SET
            distinct_id = excluded.distinct_id, started = excluded.started, status = excluded.status,
            errors = excluded.errors, updated_at = excluded.updated_at
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
        text_array([s.release for s in states]),
        text_array([s.environment for s in states]),
        text_array([s.distinct_id for s in states]),
        [s.started for s in states],
        text_array([s.status for s in states]),
        int_array([s.errors for s in states]),
        [s.updated_at for s in states],
    )


async def write_aggregates(conn: Statements, totals: dict[AggregateKey, Counts]) -> None:
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


async def write_release_rollups(conn: Statements, rollups: ReleaseRollupChanges) -> None:
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
            SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::text::text[],
                                 $5::timestamp[], $6::date[], $7::text::int[])
            ON CONFLICT (project, release, environment, kind, hour, previous_day) DO UPDATE
            SET users = l.users + excluded.users
            """,
            *text_columns([key for key, _ in links], 4),
            *([key[i] for key, _ in links] for i in (4, 5)),
            int_array([n for _, n in links]),
        )
    recent = nonzero(rollups.recent_links)
    if recent:
        await conn.execute(
            """
            INSERT INTO metrics.release_recent_user_links AS l
                (project, hour, environment, release, previous_hour, users)
            SELECT * FROM unnest($1::text::text[], $2::timestamp[], $3::text::text[], $4::text::text[], $5::timestamp[],
                                 $6::text::int[])
            ON CONFLICT (project, hour, environment, release, previous_hour) DO UPDATE
            SET users = l.users + excluded.users
            """,
            text_array([key[0] for key, _ in recent]),
            [key[1] for key, _ in recent],
            text_array([key[2] for key, _ in recent]),
            text_array([key[3] for key, _ in recent]),
            [key[4] for key, _ in recent],
            int_array([n for _, n in recent]),
        )
    environment_links = nonzero(rollups.environment_links)
    if environment_links:
        await conn.execute(
            """
            INSERT INTO metrics.environment_recent_user_links AS l (project, hour, environment, previous_hour, users)
            SELECT * FROM unnest($1::text[], $2::timestamp[], $3::text[], $4::timestamp[], $5::int[])
            ON CONFLICT (project, hour, environment, previous_hour) DO UPDATE SET users = l.users + excluded.users
            """,
            *([key[i] for key, _ in environment_links] for i in range(4)),
            [n for _, n in environment_links],
        )
