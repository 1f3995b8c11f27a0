"""Which projects a Grafana database role may read (``pulse grafana grant|revoke``). The role reads the views of
the ``grafana`` schema and nothing else; each view shows the rows of its granted projects only."""

from __future__ import annotations

from collections.abc import Sequence

from pulse_common.db import Connection
from pulse_common.projects import ProjectError


async def _quoted(conn: Connection, template: str, role: str) -> str:
    statement: str = await conn.fetchval("SELECT format($1, $2::text)", template, role)
    return statement


async def grant(conn: Connection, role: str, projects: Sequence[str], *, create: bool = False) -> None:
    """Let ``role`` read the grafana views for ``projects`` (creating it as a login role without a password when
    ``create``: set one, or use peer/trust authentication, as the deployment wants)."""
    known = {
        r["project"] for r in await conn.fetch("SELECT project FROM control.projects WHERE project = ANY($1)", projects)
    }
    missing = [p for p in projects if p not in known]
    if missing:
        raise ProjectError(f"project: {', '.join(map(repr, missing))} does not exist")
    async with conn.transaction():
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if exists is None:
            if not create:
                raise ProjectError(f"role: {role!r} does not exist (create it, or pass --create)")
            await conn.execute(await _quoted(conn, "CREATE ROLE %I LOGIN", role))
        for template in (
            "GRANT USAGE ON SCHEMA grafana TO %I",
            "GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO %I",
            # Views later migrations add are readable too (they are created by the role running migrations).
            "ALTER DEFAULT PRIVILEGES IN SCHEMA grafana GRANT SELECT ON TABLES TO %I",
        ):
            await conn.execute(await _quoted(conn, template, role))
        await conn.executemany(
            "INSERT INTO control.grafana_access (role, project) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(role, project) for project in projects],
        )


async def revoke(conn: Connection, role: str, projects: Sequence[str]) -> int:
    """Stop showing ``projects`` to ``role``; returns how many grants were removed."""
    removed = await conn.fetch(
        "DELETE FROM control.grafana_access WHERE role = $1 AND project = ANY($2) RETURNING project", role, projects
    )
    return len(removed)
