"""What several benchmarks need of this machine: a throwaway database of their own, and a process's CPU time."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from pulse_common.db import drop_database, ensure_database
from pulse_common.migrations import all_migrations, apply_migrations


def scratch_dsn(prefix: str) -> str:
    """A new database name beside the admin database (``PULSE_TEST_POSTGRES_URL``), not created yet."""
    admin = os.environ.get("PULSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return admin.rsplit("/", 1)[0] + f"/{prefix}_{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new database with every migration applied; the database is dropped afterwards."""
    dsn = scratch_dsn(prefix)
    await ensure_database(dsn)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_migrations(conn, all_migrations())
            yield conn
        finally:
            await conn.close()
    finally:
        await drop_database(dsn)


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process on this machine (Postgres backends included)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
