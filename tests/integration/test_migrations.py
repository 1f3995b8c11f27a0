"""The migrations runner on a real Postgres: once each, under a lock, checksummed."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from pulse_common.db import drop_database, ensure_database
from pulse_common.migrations import Migration, MigrationError, all_migrations, apply_migrations
from tests.conftest import fresh_database_url


@pytest.fixture
async def empty_database(database_url: str) -> AsyncIterator[str]:
    dsn = fresh_database_url("pulse_migrations")
    assert await ensure_database(dsn) is True
    assert await ensure_database(dsn) is False  # already there: nothing to do
    yield dsn
    await drop_database(dsn)


async def test_every_migration_applies_once(empty_database: str) -> None:
    migrations = all_migrations()
    conn = await asyncpg.connect(empty_database)
    try:
        applied = await apply_migrations(conn, migrations)
        assert [(m.component, m.version) for m in applied] == [(m.component, m.version) for m in migrations]
        assert await apply_migrations(conn, migrations) == []
        assert await conn.fetchval("SELECT count(*) FROM public.pulse_schema_migrations") == len(migrations)
        assert await conn.fetchval("SELECT to_regclass('tracking.partition_offsets') IS NOT NULL")
    finally:
        await conn.close()


async def test_concurrent_runs_apply_each_migration_once(empty_database: str) -> None:
    migrations = all_migrations()
    conns = [await asyncpg.connect(empty_database) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, migrations) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations)]
    finally:
        for conn in conns:
            await conn.close()


async def test_an_applied_migration_that_was_edited_is_refused(empty_database: str) -> None:
    migrations = all_migrations()
    conn = await asyncpg.connect(empty_database)
    try:
        await apply_migrations(conn, migrations)
        first = migrations[0]
        edited = Migration(first.component, first.version, first.name, first.sql + "\n-- edited\n")
        with pytest.raises(MigrationError, match="edited"):
            await apply_migrations(conn, [edited, *migrations[1:]])
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        broken = Migration("scratch", 1, "broken", "CREATE TABLE half_done (id int); SELECT 1/0;")
        with pytest.raises(asyncpg.DivisionByZeroError):
            await apply_migrations(conn, [broken])
        assert await conn.fetchval("SELECT to_regclass('public.half_done')") is None
        assert await conn.fetchval("SELECT count(*) FROM public.pulse_schema_migrations") == 0
    finally:
        await conn.close()
