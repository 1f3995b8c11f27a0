"""Rotating and revoking API keys (``pulse key rotate|revoke|list``). A key is shown once; afterwards it is named
by its id, the first 12 hex digits of its SHA-256 hash, which reveals nothing of the key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pulse_common.db import Connection
from pulse_common.keys import KeyKind, hash_key, new_key
from pulse_common.projects import ProjectError

KEY_ID_LENGTH = 12


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    kind: str
    created_at: datetime
    revoked_at: datetime | None


async def _require_project(conn: Connection, project: str) -> None:
    if await conn.fetchval("SELECT 1 FROM control.projects WHERE project = $1", project) is None:
        raise ProjectError(f"project {project!r} does not exist")


async def rotate_key(conn: Connection, project: str, kind: KeyKind, *, revoke_previous: bool) -> str:
    """A new key of ``kind``; the project's other keys of that kind stay valid (clients move over) unless
    ``revoke_previous``, which revokes them in the same transaction."""
    await _require_project(conn, project)
    key = new_key(kind)
    async with conn.transaction():
        if revoke_previous:
            await conn.execute(
                "UPDATE control.api_keys SET revoked_at = now() "
                "WHERE project = $1 AND kind = $2 AND revoked_at IS NULL",
                project,
                kind,
            )
        await conn.execute(
            "INSERT INTO control.api_keys (key_hash, project, kind) VALUES ($1, $2, $3)", hash_key(key), project, kind
        )
    return key


async def revoke_key(conn: Connection, project: str, key_or_id: str) -> KeyInfo:
    """Revoke one key of ``project``, named by the key itself or by its id. Services stop accepting it within
    their key cache's time to live (``PULSE_KEY_CACHE_TTL_S``, 5 s by default)."""
    await _require_project(conn, project)
    rows = await conn.fetch(
        "SELECT key_hash FROM control.api_keys WHERE project = $1 AND revoked_at IS NULL "
        "AND (key_hash = $2 OR (length($3) >= $4 AND key_hash LIKE $3 || '%'))",
        project,
        hash_key(key_or_id),
        key_or_id.lower() if all(c in "0123456789abcdefABCDEF" for c in key_or_id) else "-",
        KEY_ID_LENGTH,
    )
    if not rows:
        raise ProjectError(f"key: no active key of project {project!r} is {key_or_id[:KEY_ID_LENGTH]!r}…")
    if len(rows) > 1:
        raise ProjectError("key: that id names several keys; give more of it, or the key itself")
    row = await conn.fetchrow(
        "UPDATE control.api_keys SET revoked_at = now() WHERE key_hash = $1 "
        "RETURNING key_hash, kind, created_at, revoked_at",
        rows[0]["key_hash"],
    )
    assert row is not None
    return KeyInfo(row["key_hash"][:KEY_ID_LENGTH], row["kind"], row["created_at"], row["revoked_at"])


async def list_keys(conn: Connection, project: str) -> list[KeyInfo]:
    await _require_project(conn, project)
    rows = await conn.fetch(
        "SELECT key_hash, kind, created_at, revoked_at FROM control.api_keys WHERE project = $1 "
        "ORDER BY created_at, kind",
        project,
    )
    return [KeyInfo(r["key_hash"][:KEY_ID_LENGTH], r["kind"], r["created_at"], r["revoked_at"]) for r in rows]
