"""The control plane's store: projects and their keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import asyncpg

from pulse_common.db import Connection, Statements
from pulse_common.keys import KEY_KINDS, KeyKind, hash_key, hashes_match, new_key

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class ProjectError(ValueError):
    """A project request that cannot be honoured (bad name or timezone, name taken)."""


@dataclass(frozen=True)
class CreatedProject:
    project: str
    timezone: str
    write_key: str
    read_key: str
    admin_key: str


@dataclass(frozen=True)
class KeyOwner:
    project: str
    kind: KeyKind


def validate_project_name(name: str) -> str:
    if not _SLUG.fullmatch(name):
        raise ProjectError(
            f"project name {name!r} is invalid: use 1-63 lowercase letters, digits or '-', starting with a "
            "letter or digit"
        )
    return name


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProjectError(f"timezone {name!r} is not an IANA timezone name (e.g. Europe/Berlin)") from None
    # available_timezones() lists every file of the tz database folder, including host-specific links.
    if name in _NOT_ZONES or (name not in available_timezones() and name != "UTC"):
        raise ProjectError(f"timezone {name!r} is not an IANA timezone name (e.g. Europe/Berlin)")
    return name


async def create_project(conn: Connection, name: str, timezone: str = "UTC") -> CreatedProject:
    """Create a project with one key of each kind. The keys are returned once and never stored in clear."""
    validate_project_name(name)
    validate_timezone(timezone)
    keys = {kind: new_key(kind) for kind in KEY_KINDS}
    async with conn.transaction():
        try:
            await conn.execute("INSERT INTO control.projects (project, timezone) VALUES ($1, $2)", name, timezone)
        except asyncpg.UniqueViolationError:
            raise ProjectError(f"project {name!r} already exists") from None
        await conn.executemany(
            "INSERT INTO control.api_keys (key_hash, project, kind) VALUES ($1, $2, $3)",
            [(hash_key(key), name, kind) for kind, key in keys.items()],
        )
    return CreatedProject(name, timezone, keys["write"], keys["read"], keys["admin"])


async def issue_keys(conn: Connection, name: str) -> CreatedProject:
    """A new key of each kind for an existing project (the old keys stay valid until revoked)."""
    timezone = await conn.fetchval("SELECT timezone FROM control.projects WHERE project = $1", name)
    if timezone is None:
        raise ProjectError(f"project {name!r} does not exist")
    keys = {kind: new_key(kind) for kind in KEY_KINDS}
    await conn.executemany(
        "INSERT INTO control.api_keys (key_hash, project, kind) VALUES ($1, $2, $3)",
        [(hash_key(key), name, kind) for kind, key in keys.items()],
    )
    return CreatedProject(name, timezone, keys["write"], keys["read"], keys["admin"])


async def find_key_owner(conn: Connection | asyncpg.Pool, key: str) -> KeyOwner | None:
    """The project and kind of an unrevoked key, or None."""
    digest = hash_key(key)
    row = await conn.fetchrow(
        "SELECT key_hash, project, kind FROM control.api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        digest,
    )
    if row is None or not hashes_match(row["key_hash"], key):
        return None
    return KeyOwner(row["project"], row["kind"])


async def project_timezones(conn: Statements | asyncpg.Pool, names: list[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT project, timezone FROM control.projects WHERE project = ANY($1::text[])", names)
    return {r["project"]: r["timezone"] for r in rows}
