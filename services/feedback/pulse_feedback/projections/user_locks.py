"""Locks the feedback projections share. A response's traits are computed from the trait history when it is written
and recomputed when that history changes; the two happen in different projections (feedback and usage topics), so
both lock the user first. Comments are indexed with the project's language; changing it re-indexes under an
exclusive lock that writers of comments take shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pulse_common.db import Connection, advisory_locks

DEFAULT_LANGUAGE = "english"


async def lock_users(conn: Connection, users: Iterable[tuple[str, str]]) -> None:
    await advisory_locks(conn, [("feedback-user", project, user) for project, user in users])


def language_lock_key(project: str) -> str:
    return f"feedback-language\x1f{project}"


async def share_languages(conn: Connection, projects: Sequence[str]) -> None:
    """Hold the projects' language steady until the transaction ends (comments written meanwhile use it)."""
    if projects:
        await conn.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k",
            sorted({language_lock_key(p) for p in projects}),
        )
