"""The swap, inside one transaction on the live database: the rebuilt rows, dedup claims and offsets replace the
live ones together, so readers see the old copy until the commit and the new one after it, never a mix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pulse_common.db import Connection
from pulse_common.rebuild.copying import copy_query_rows, copy_table, quoted, stored_columns

Partition = tuple[str, int]
_CLAIM_COLUMNS = ("consumer", "event_id", "claimed_at")


async def stored_offsets(
    conn: Connection, consumers: Sequence[str], *, lock: bool = False
) -> dict[str, dict[Partition, int]]:
    """The projections' stored offsets. ``lock`` (the live database, in the swap's transaction): row-locked until the
    swap commits, so their runners wait at the start of their next batch (tracking.lock_offsets) and the live copy
    does not move while it is being replaced."""
    rows = await conn.fetch(
        "SELECT consumer, topic, partition, next_offset FROM tracking.partition_offsets "
        "WHERE consumer = ANY($1::text[]) ORDER BY consumer, topic, partition" + (" FOR UPDATE" if lock else ""),
        list(consumers),
    )
    stored: dict[str, dict[Partition, int]] = {c: {} for c in consumers}
    for r in rows:
        stored[r["consumer"]][(r["topic"], r["partition"])] = r["next_offset"]
    return stored


async def stage_tables(live: Connection, rebuilt: Connection, tables: Sequence[str]) -> dict[str, int]:
    """Copy the rebuilt tables into temporary tables of the live transaction (readers are not held meanwhile)."""
    rows: dict[str, int] = {}
    for index, table in enumerate(tables):
        await live.execute(f"CREATE TEMP TABLE rebuilt_{index} (LIKE {quoted(table)}) ON COMMIT DROP")
        rows[table] = await copy_table(rebuilt, live, table, into=f"pg_temp.rebuilt_{index}")
    return rows


async def replace_tables(live: Connection, tables: Sequence[str]) -> None:
    """The live tables' rows become the staged ones. From here to the commit, readers of these tables wait."""
    await live.execute("TRUNCATE " + ", ".join(quoted(t) for t in tables))
    for index, table in enumerate(tables):
        listed = ", ".join('"' + c + '"' for c in await stored_columns(live, table))
        await live.execute(f"INSERT INTO {quoted(table)} ({listed}) SELECT {listed} FROM pg_temp.rebuilt_{index}")


async def replace_claims(live: Connection, rebuilt: Connection, consumers: Sequence[str]) -> int:
    """The event ids the rebuilt copy applied become the live projections' claims (and only those)."""
    await live.execute("DELETE FROM tracking.event_claims WHERE consumer = ANY($1::text[])", list(consumers))
    return await copy_query_rows(
        rebuilt,
        f"SELECT {', '.join(_CLAIM_COLUMNS)} FROM tracking.event_claims WHERE consumer = ANY($1::text[])",
        (list(consumers),),
        live,
        "tracking.event_claims",
        _CLAIM_COLUMNS,
    )


async def store_offsets(live: Connection, offsets: Mapping[str, Mapping[Partition, int]]) -> None:
    """The live runners resume where the rebuilt copy stopped (at or past where they were)."""
    rows = [(c, t, p, o) for c, per_partition in offsets.items() for (t, p), o in per_partition.items()]
    await live.execute(
        """
        INSERT INTO tracking.partition_offsets (consumer, topic, partition, next_offset)
        SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])
        ON CONFLICT (consumer, topic, partition) DO UPDATE
        SET next_offset = excluded.next_offset, updated_at = now()
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
