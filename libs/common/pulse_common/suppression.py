"""Erased people whose events ingest refuses (control.suppressed_users)."""

from __future__ import annotations

import time
from collections.abc import Iterable

import asyncpg

from pulse_common.db import Connection
from pulse_common.projects import ProjectError


async def suppress(conn: Connection, project: str, distinct_id: str) -> None:
    await conn.execute(
        "INSERT INTO control.suppressed_users (project, distinct_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        project,
        distinct_id,
    )


async def unsuppress(conn: Connection, project: str, distinct_id: str) -> None:
    removed = await conn.fetchval(
        "DELETE FROM control.suppressed_users WHERE project = $1 AND distinct_id = $2 RETURNING 1", project, distinct_id
    )
    if removed is None:
        raise ProjectError(f"user: {distinct_id!r} is not suppressed in project {project!r}")


class SuppressedUsers:
    """Which of a request's users are suppressed, from a per-project set cached for ``ttl_s`` seconds (an erasure
    reaches every ingest worker within that time; one query per project and period, not per request)."""

    def __init__(self, pool: asyncpg.Pool, *, ttl_s: float) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def among(self, project: str, distinct_ids: Iterable[str]) -> set[str]:
        cached = self._cache.get(project)
        if cached is None or time.monotonic() - cached[0] > self._ttl_s:
            rows = await self._pool.fetch(
                "SELECT distinct_id FROM control.suppressed_users WHERE project = $1", project
            )
            cached = (time.monotonic(), frozenset(r["distinct_id"] for r in rows))
            self._cache[project] = cached
        return set(distinct_ids) & cached[1]

    def forget(self, project: str) -> None:
        """After this worker suppressed someone: the next request reads the set again."""
        self._cache.pop(project, None)
