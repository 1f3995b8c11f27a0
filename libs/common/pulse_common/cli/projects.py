"""``pulse project``, ``pulse feature``, ``pulse feedback``, ``pulse grafana`` and ``pulse migrate``."""

import dataclasses
import time
from datetime import datetime

import asyncpg

from pulse_common import key_admin, suppression
from pulse_common.db import ensure_database
from pulse_common.features import map_event_to_feature
from pulse_common.grafana import access as grafana
from pulse_common.keys import KEY_KINDS
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import ProjectError, create_project
from pulse_common.settings import CommonSettings


async def migrate(settings: CommonSettings) -> list[str]:
    lines = []
    if await ensure_database(settings.dsn):
        lines.append("created the database")
    conn = await asyncpg.connect(settings.dsn)
    try:
        applied = await apply_migrations(conn, all_migrations())
    finally:
        await conn.close()
    lines += [f"applied {m.component} {m.version:04d}_{m.name}" for m in applied]
    return lines or ["migrations: up to date"]


async def create(settings: CommonSettings, name: str, timezone: str) -> dict[str, str]:
    conn = await asyncpg.connect(settings.dsn)
    try:
        return dataclasses.asdict(await create_project(conn, name, timezone))
    except asyncpg.UndefinedTableError:
        raise ProjectError("the database has no Pulse tables yet: run `pulse migrate` first") from None
    finally:
        await conn.close()


async def map_feature(settings: CommonSettings, project: str, event: str, feature: str) -> datetime:
    conn = await asyncpg.connect(settings.dsn)
    try:
        return await map_event_to_feature(conn, project, event, feature)
    finally:
        await conn.close()


async def segments(settings: CommonSettings, action: str, project: str, trait: str | None) -> dict[str, object]:
    """``pulse segment declare|drop|list``: what to print as JSON."""
    # Segment rollups belong to the metrics service; the command-line tool is the one place that spans services.
    from pulse_metrics.projections.segment_backfill import declare_trait, undeclare_trait
    from pulse_metrics.projections.segment_store import declared_traits

    conn = await asyncpg.connect(settings.dsn)
    try:
        if action == "list":
            async with conn.transaction():
                traits = (await declared_traits(conn, [project])).get(project, [])
            return {"project": project, "traits": traits}
        assert trait is not None
        if action == "declare":
            started = time.monotonic()
            helper = await asyncpg.connect(settings.dsn)  # computes half of the rollups meanwhile
            try:
                declared = await declare_trait(conn, project, trait, helper)
            finally:
                await helper.close()
            return {
                "project": project,
                "trait": trait,
                "declared": declared,
                "already_declared": not declared,
                "seconds": round(time.monotonic() - started, 3),
            }
        return {"project": project, "trait": trait, "dropped": await undeclare_trait(conn, project, trait)}
    finally:
        await conn.close()


async def set_feedback_language(settings: CommonSettings, project: str, language: str) -> int:
    # The setting belongs to the feedback service; the command-line tool is the one place that spans services.
    from pulse_feedback.language import set_language

    conn = await asyncpg.connect(settings.dsn)
    try:
        return await set_language(conn, project, language)
    finally:
        await conn.close()


async def grafana_access(settings: CommonSettings, action: str, role: str, projects: list[str], create: bool) -> int:
    """Grant or revoke; returns the grants removed by a revoke (0 for a grant)."""
    conn = await asyncpg.connect(settings.dsn)
    try:
        if action == "grant":
            await grafana.grant(conn, role, projects, create=create)
            return 0
        return await grafana.revoke(conn, role, projects)
    finally:
        await conn.close()


async def keys(settings: CommonSettings, action: str, project: str, argument: str | None, revoke: bool) -> object:
    """``pulse key rotate|revoke|list``: what to print as JSON."""
    conn = await asyncpg.connect(settings.dsn)
    try:
        if action == "rotate":
            assert argument in KEY_KINDS
            key = await key_admin.rotate_key(conn, project, argument, revoke_previous=revoke)
            return {"project": project, "kind": argument, "key": key, "previous_revoked": revoke}
        if action == "revoke":
            assert argument is not None
            revoked = await key_admin.revoke_key(conn, project, argument)
            return {"project": project, **_key_json(revoked)}
        return [_key_json(k) for k in await key_admin.list_keys(conn, project)]
    finally:
        await conn.close()


def _key_json(info: key_admin.KeyInfo) -> dict[str, object]:
    return {
        "key_id": info.key_id,
        "kind": info.kind,
        "created_at": info.created_at.isoformat(),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
    }


async def unsuppress_user(settings: CommonSettings, project: str, distinct_id: str) -> None:
    conn = await asyncpg.connect(settings.dsn)
    try:
        await suppression.unsuppress(conn, project, distinct_id)
    finally:
        await conn.close()
