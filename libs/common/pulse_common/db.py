"""Postgres connection pools, and creating the database when it does not exist yet."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from pulse_common.array_params import text_array

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# A connection, whether opened directly or borrowed from a pool (generic only for the type checker).
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


class Statements(Protocol):
    """What a projection's statements need: a connection, or a ``write_behind.WriteBehind`` over one.

    A read by a batch's keys is written ``unnest($keys) CROSS JOIN LATERAL (SELECT … WHERE key matches … OFFSET 0)``,
    one index probe per key (``OFFSET 0``, or an aggregate, keeps the planner from flattening it into a join). As a
    plain join, the planner, seeing thousands of keys, often hashed or merged the whole table instead: a cost that
    grows with the table rather than the batch (tests/integration/test_keyed_reads.py).
    """

    async def execute(self, query: str, *args: Any) -> object: ...

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...


class DatabaseUnavailable(RuntimeError):
    """No Postgres server answered at the configured address."""


# Statements are prepared once per connection and run with batches of any size against tables that grow from
# empty: a generic plan chosen while a table was small (a sequential scan) would stay for the connection's life.
# Planning each execution with its parameters costs well under a millisecond; a stale plan cost 10x throughput.
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, command_timeout=60, server_settings=SERVER_SETTINGS
    )
    if pool is None:  # pragma: no cover - asyncpg returns None only when used as an awaitable wrongly
        raise DatabaseUnavailable(dsn_without_password(dsn))
    return pool


def dsn_without_password(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


def database_name(dsn: str) -> str:
    name = urlsplit(dsn).path.lstrip("/")
    if not name:
        raise ValueError(f"the database URL {dsn_without_password(dsn)} names no database")
    return name


async def ensure_database(dsn: str, *, maintenance_db: str = "postgres") -> bool:
    """Create the database named in ``dsn`` if it is missing. Returns True when it was created."""
    name = database_name(dsn)
    admin_dsn = urlunsplit(urlsplit(dsn)._replace(path=f"/{maintenance_db}"))
    try:
        conn = await asyncpg.connect(admin_dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(
            f"no Postgres answered at {dsn_without_password(admin_dsn)} ({exc}); start it or set PULSE_DATABASE_URL"
        ) from exc
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False  # created concurrently by another process
        return True
    finally:
        await conn.close()


async def drop_database(dsn: str, *, maintenance_db: str = "postgres") -> None:
    name = database_name(dsn)
    admin_dsn = urlunsplit(urlsplit(dsn)._replace(path=f"/{maintenance_db}"))
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()


async def advisory_locks(conn: Statements, keys: Sequence[tuple[str, ...]]) -> None:
    """Transaction-scoped advisory locks on ``keys`` (tuples naming what is locked, e.g. a session or a user), taken
    in one statement in sorted order, so consumers locking overlapping sets never deadlock."""
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text::text[]) AS k ORDER BY k",
            text_array(sorted({"\x1f".join(key) for key in keys})),
        )
