"""WriteBehind: writes return once sent, statements still run one at a time in order, errors are not lost."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from pulse_common.write_behind import WriteBehind


@contextlib.asynccontextmanager
async def scratch_connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection holding an empty temporary table ``scratch``: ``n``, and ``at``, when the row was written."""
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE scratch (n int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
        yield conn


async def test_a_write_returns_while_postgres_still_runs_it_and_the_next_statement_waits_for_it(
    pool: asyncpg.Pool,
) -> None:
    async with scratch_connection(pool) as conn, conn.transaction(), WriteBehind(conn) as db:
        await db.execute("SELECT pg_sleep(0.3); INSERT INTO scratch (n) VALUES (1)")
        assert db.in_flight  # returned before Postgres finished: Python runs meanwhile
        rows = await db.fetch("SELECT n FROM scratch")
        assert [r["n"] for r in rows] == [1]  # the read was sent only after the write finished
        assert not db.in_flight


async def test_statements_run_in_the_order_given_and_a_read_sent_ahead_sees_only_what_came_before_it(
    pool: asyncpg.Pool,
) -> None:
    async with scratch_connection(pool) as conn, conn.transaction():
        async with WriteBehind(conn) as db:
            for n in range(1, 6):
                await db.execute("INSERT INTO scratch (n) VALUES ($1)", n)
            ahead = await db.fetch_soon("SELECT count(*) AS c FROM scratch")
            await db.execute("INSERT INTO scratch (n) VALUES (6)")
            assert (await ahead)[0]["c"] == 5
        order = await conn.fetch("SELECT n FROM scratch ORDER BY at")
        assert [r["n"] for r in order] == [1, 2, 3, 4, 5, 6]  # leaving the block waited for the last write


async def test_a_failed_write_is_raised_by_the_next_statement(pool: asyncpg.Pool) -> None:
    async with scratch_connection(pool) as conn:
        db = WriteBehind(conn)
        await db.execute("INSERT INTO scratch (n) VALUES (1), (1)")
        with pytest.raises(asyncpg.UniqueViolationError):
            await db.fetch("SELECT 1")
        assert await conn.fetchval("SELECT count(*) FROM scratch") == 0


async def test_a_failed_last_write_is_raised_when_the_block_ends(pool: asyncpg.Pool) -> None:
    async with scratch_connection(pool) as conn:
        with pytest.raises(asyncpg.UniqueViolationError):
            async with WriteBehind(conn) as db:
                await db.execute("INSERT INTO scratch (n) VALUES (1), (1)")


async def _fail_while_a_write_is_in_flight(conn: asyncpg.Connection) -> None:
    async with conn.transaction(), WriteBehind(conn) as db:
        await db.execute("SELECT pg_sleep(0.2); INSERT INTO scratch (n) VALUES (1)")
        assert db.in_flight
        _ = 1 / 0


async def test_an_error_in_python_waits_for_the_write_in_flight_so_the_transaction_can_roll_back(
    pool: asyncpg.Pool,
) -> None:
    async with scratch_connection(pool) as conn:
        with pytest.raises(ZeroDivisionError):
            await _fail_while_a_write_is_in_flight(conn)
        # Rolled back cleanly (asyncpg refuses a rollback while a statement runs), and the connection is usable.
        assert await conn.fetchval("SELECT count(*) FROM scratch") == 0


async def test_a_read_sent_ahead_runs_while_python_works(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        db = WriteBehind(conn)
        ahead = await db.fetch_soon("SELECT pg_sleep(0.3), 7 AS seven")
        assert not ahead.done()
        await asyncio.sleep(0)
        assert (await ahead)[0]["seven"] == 7
        await db.settle()
