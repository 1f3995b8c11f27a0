"""What the feedback service keeps of ``pulse.sessions.v1``: which users had a crashed session on which local day
(by the session's start), for the crashed-vs-not experience breakdown. Sessions follow the release-health state
machine (``pulse_common.session_state``), so a crash reported after the session exited is ignored here exactly as
in release health; an SDK aggregate with a user and crashed sessions counts that user as crashed that day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection, advisory_locks
from pulse_common.events import SessionsAggregated, SessionStreamEvent, SessionUpdated, UserDeleted
from pulse_common.runner import SourceRecord
from pulse_common.session_state import SessionState, changed_sessions
from pulse_common.zones import ProjectZones

SessionKey = tuple[str, str]  # (project, session id)


def crashed_now(before: SessionState | None, after: SessionState) -> bool:
    return (
        after.status == "crashed" and after.distinct_id is not None and (before is None or before.status != "crashed")
    )


def after_deletions(events: Sequence[SessionStreamEvent]) -> list[SessionStreamEvent]:
    """The batch without what a user did before their deletion in it (erased with them)."""
    last_deletion = {(e.project, e.distinct_id): i for i, e in enumerate(events) if isinstance(e, UserDeleted)}
    return [
        e
        for i, e in enumerate(events)
        if isinstance(e, UserDeleted) or e.distinct_id is None or last_deletion.get((e.project, e.distinct_id), -1) < i
    ]


class CrashesProjection:
    name = "feedback.crashes"

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.SESSIONS) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], SessionStreamEvent] = codec.decoder_for(SessionStreamEvent)
        self.zones = ProjectZones()

    def decode(self, record: SourceRecord) -> SessionStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[SessionStreamEvent]) -> None:
        zones = await self.zones.load(conn, (e.project for e in events))
        events = after_deletions(events)
        erased = sorted({(e.project, e.distinct_id) for e in events if isinstance(e, UserDeleted)})
        if erased:
            await erase_crashes(conn, erased)
        updates = [e for e in events if isinstance(e, SessionUpdated) and e.project in zones]
        session_keys = sorted({(e.project, e.session_id) for e in updates})
        await advisory_locks(conn, [("feedback-session", *key) for key in session_keys])
        stored = await load_sessions(conn, session_keys)
        changed = changed_sessions(stored, updates)
        crash_days = {
            (project, state.distinct_id or "", state.started.astimezone(zones[project]).date())
            for (project, _), state in changed.items()
            if crashed_now(stored.get((project, _)), state)
        }
        for event in events:
            if isinstance(event, SessionsAggregated) and event.project in zones and event.crashed and event.distinct_id:
                crash_days.add(
                    (event.project, event.distinct_id, event.started.astimezone(zones[event.project]).date())
                )
        await write_sessions(conn, changed)
        if crash_days:
            ordered = sorted(crash_days)
            await conn.execute(
                "INSERT INTO feedback.crash_days (project, distinct_id, day) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::date[]) ON CONFLICT DO NOTHING",
                *([k[i] for k in ordered] for i in range(3)),
            )


async def load_sessions(conn: Connection, keys: Sequence[SessionKey]) -> dict[SessionKey, SessionState]:
    if not keys:
        return {}
    rows = await conn.fetch(
        """
        SELECT s.* FROM unnest($1::text[], $2::text[]) AS k(project, session_id)
        CROSS JOIN LATERAL (
            SELECT * FROM feedback.session_states s
            WHERE s.project = k.project AND s.session_id = k.session_id
            OFFSET 0
        ) s
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {
        (r["project"], r["session_id"]): SessionState(
            release=r["release"],
            environment=r["environment"],
            distinct_id=r["distinct_id"],
            started=r["started"],
            status=r["status"],
            errors=r["errors"],
            updated_at=r["updated_at"],
        )
        for r in rows
    }


async def write_sessions(conn: Connection, changed: dict[SessionKey, SessionState]) -> None:
    keys = sorted(changed)
    if not keys:
        return
    states = [changed[k] for k in keys]
    await conn.execute(
        """
        INSERT INTO feedback.session_states AS s
            (project, session_id, release, environment, distinct_id, started, status, errors, updated_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                             $7::text[], $8::int[], $9::timestamptz[])
        ON CONFLICT (project, session_id) DO UPDATE SET
            distinct_id = excluded.distinct_id, started = excluded.started, status = excluded.status,
            errors = excluded.errors, updated_at = excluded.updated_at
        """,
        [k[0] for k in keys],
        [k[1] for k in keys],
        *(list(column) for column in _state_columns(states)),
    )


def _state_columns(states: Iterable[SessionState]) -> tuple[list[object], ...]:
    listed = list(states)
    return (
        [s.release for s in listed],
        [s.environment for s in listed],
        [s.distinct_id for s in listed],
        [s.started for s in listed],
        [s.status for s in listed],
        [s.errors for s in listed],
        [s.updated_at for s in listed],
    )


async def erase_crashes(conn: Connection, users: Sequence[tuple[str, str]]) -> None:
    for table in ("feedback.crash_days", "feedback.session_states"):
        await conn.execute(
            f"DELETE FROM {table} t USING unnest($1::text[], $2::text[]) AS u(project, distinct_id) "
            "WHERE t.project = u.project AND t.distinct_id = u.distinct_id",
            [u[0] for u in users],
            [u[1] for u in users],
        )
