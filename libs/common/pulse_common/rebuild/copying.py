"""Rows streamed from one database to another with binary COPY (same Postgres version, same table definitions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pulse_common.db import Connection


def split_name(qualified: str) -> tuple[str, str]:
    schema, _, table = qualified.partition(".")
    if not table:
        raise ValueError(f"{qualified!r} is not schema-qualified")
    return schema, table


def quoted(qualified: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in split_name(qualified))


async def stored_columns(conn: Connection, qualified: str) -> list[str]:
    """The table's columns that hold data (generated columns are computed, never copied)."""
    schema, table = split_name(qualified)
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER' ORDER BY ordinal_position",
        schema,
        table,
    )
    if not rows:
        raise ValueError(f"no table {qualified}")
    return [r["column_name"] for r in rows]


async def copy_query_rows(
    source: Connection,
    query: str,
    args: Sequence[Any],
    target: Connection,
    target_table: str,
    columns: Sequence[str],
) -> int:
    """Stream the rows of ``query`` on ``source`` into ``target_table`` (``columns``, in the query's order) on
    ``target``; returns the rows copied. Nothing is held in memory beyond a few chunks."""
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=32)

    async def read() -> None:
        try:
            await source.copy_from_query(query, *args, output=chunks.put, format="binary")
        finally:
            await chunks.put(None)

    async def written() -> AsyncIterator[bytes]:
        while (chunk := await chunks.get()) is not None:
            yield chunk

    reader = asyncio.create_task(read())
    try:
        schema, table = split_name(target_table)
        status = await target.copy_to_table(
            table, schema_name=schema, columns=list(columns), source=written(), format="binary"
        )
        await reader  # the source's own error, if it failed part way
    finally:
        if not reader.done():
            reader.cancel()
    return int(status.split()[-1])


async def copy_table(source: Connection, target: Connection, table: str, *, into: str | None = None) -> int:
    """Every row of ``table`` on ``source`` into ``into`` (default: the same table) on ``target``."""
    columns = await stored_columns(source, table)
    listed = ", ".join('"' + c + '"' for c in columns)
    return await copy_query_rows(source, f"SELECT {listed} FROM {quoted(table)}", (), target, into or table, columns)
