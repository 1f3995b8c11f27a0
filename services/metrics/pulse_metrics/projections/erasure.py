"""Removing a user's contributions exactly (``user_deleted``): every user-keyed table drops that user's rows, so
each figure is as if the user had never existed, without a rebuild.

Batches are applied in runs split at each deletion, so a user's events before their deletion are removed with
them and events after it (which ingest refuses once the user is suppressed) are applied after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pulse_common.db import Connection
from pulse_common.events import UsageStreamEvent, UserDeleted


async def apply_in_runs(
    conn: Connection,
    events: Sequence[UsageStreamEvent],
    apply_run: Callable[[Connection, Sequence[UsageStreamEvent]], Awaitable[None]],
    tables: Sequence[str],
) -> None:
    """``apply_run`` for each run of events between deletions; each deletion removes the user from ``tables``."""
    run: list[UsageStreamEvent] = []
    for event in events:
        if isinstance(event, UserDeleted):
            if run:
                await apply_run(conn, run)
                run = []
            for table in tables:
                await conn.execute(
                    f"DELETE FROM {table} WHERE project = $1 AND distinct_id = $2",
                    event.project,
                    event.distinct_id,
                )
        else:
            run.append(event)
    if run:
        await apply_run(conn, run)
