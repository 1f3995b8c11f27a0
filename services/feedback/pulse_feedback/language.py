"""A project's text-search language (``pulse feedback language PROJECT LANGUAGE``): the Postgres text search
configuration comments are indexed with, for search and themes. Changing it re-indexes the project's comments and
rebuilds its theme rollup in one transaction, under a lock the projection's writers of comments hold shared, so no
comment is left indexed in the old language.
"""

from __future__ import annotations

import asyncpg

from pulse_common.db import Connection
from pulse_common.projects import ProjectError
from pulse_feedback.projections.satisfaction import add_terms
from pulse_feedback.projections.user_locks import language_lock_key


async def set_language(conn: Connection, project: str, language: str) -> int:
    """Use ``language`` for ``project``'s comments from now on, re-indexing those stored; returns how many."""
    if await conn.fetchval("SELECT 1 FROM control.projects WHERE project = $1", project) is None:
        raise ProjectError(f"project {project!r} does not exist")
    try:
        config: str = await conn.fetchval("SELECT $1::regconfig::text", language)
    except (asyncpg.UndefinedObjectError, asyncpg.InvalidParameterValueError):
        known = await conn.fetch("SELECT cfgname FROM pg_ts_config ORDER BY cfgname")
        names = ", ".join(r["cfgname"] for r in known)
        raise ProjectError(f"language: {language!r} is not a text search configuration ({names})") from None
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", language_lock_key(project))
        await conn.execute(
            "INSERT INTO feedback.text_settings (project, language) VALUES ($1, $2::regconfig) "
            "ON CONFLICT (project) DO UPDATE SET language = excluded.language",
            project,
            config,
        )
        commented = await conn.fetch(
            "UPDATE feedback.responses SET comment_search = to_tsvector($2::regconfig, comment) "
            "WHERE project = $1 AND comment IS NOT NULL RETURNING response_id",
            project,
            config,
        )
        await conn.execute("DELETE FROM feedback.term_days WHERE project = $1", project)
        await add_terms(conn, [(project, r["response_id"]) for r in commented], +1)
        # Every packed day holds the old language's terms: read from term_days until packed again.
        await conn.execute(
            "INSERT INTO feedback.term_days_changed (project, kind, day, changed_at) "
            "SELECT project, kind, day, now() FROM feedback.term_day_vectors WHERE project = $1 "
            "ON CONFLICT (project, kind, day) DO UPDATE SET changed_at = excluded.changed_at",
            project,
        )
    return len(commented)
