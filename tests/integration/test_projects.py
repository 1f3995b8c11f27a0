"""Projects and keys in the control plane: keys shown once, stored only as hashes."""

import uuid

import asyncpg
import pytest

from pulse_common.keys import hash_key
from pulse_common.projects import KeyOwner, ProjectError, create_project, find_key_owner, issue_keys


def _name() -> str:
    return f"proj-{uuid.uuid4().hex[:10]}"


async def test_a_project_gets_one_key_of_each_kind_stored_only_as_hashes(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        created = await create_project(conn, _name(), "America/New_York")
    stored = await pool.fetch("SELECT key_hash, kind FROM control.api_keys WHERE project = $1", created.project)
    assert sorted(r["kind"] for r in stored) == ["admin", "read", "write"]
    clear = {created.write_key, created.read_key, created.admin_key}
    assert {r["key_hash"] for r in stored} == {hash_key(k) for k in clear}
    dump = str(await pool.fetch("SELECT * FROM control.api_keys")) + str(
        await pool.fetch("SELECT * FROM control.projects")
    )
    assert not any(key in dump for key in clear)
    assert await find_key_owner(pool, created.write_key) == KeyOwner(created.project, "write")
    assert await find_key_owner(pool, created.read_key) == KeyOwner(created.project, "read")
    assert await find_key_owner(pool, created.admin_key) == KeyOwner(created.project, "admin")
    assert await find_key_owner(pool, created.read_key + "x") is None


async def test_a_revoked_key_resolves_to_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        created = await create_project(conn, _name())
    await pool.execute("UPDATE control.api_keys SET revoked_at = now() WHERE key_hash = $1", hash_key(created.read_key))
    assert await find_key_owner(pool, created.read_key) is None
    assert await find_key_owner(pool, created.write_key) is not None


async def test_names_are_unique_and_validated(pool: asyncpg.Pool) -> None:
    name = _name()
    async with pool.acquire() as conn:
        await create_project(conn, name)
        with pytest.raises(ProjectError, match="already exists"):
            await create_project(conn, name)
        with pytest.raises(ProjectError, match="Mars/Olympus"):
            await create_project(conn, _name(), "Mars/Olympus")
        with pytest.raises(ProjectError, match="invalid"):
            await create_project(conn, "Not A Slug")


async def test_new_keys_can_be_issued_for_an_existing_project(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        created = await create_project(conn, _name(), "Asia/Tokyo")
        again = await issue_keys(conn, created.project)
        with pytest.raises(ProjectError, match="does not exist"):
            await issue_keys(conn, _name())
    assert again.timezone == "Asia/Tokyo"
    assert again.read_key != created.read_key
    assert await find_key_owner(pool, again.read_key) == KeyOwner(created.project, "read")
    assert await find_key_owner(pool, created.read_key) == KeyOwner(created.project, "read")
