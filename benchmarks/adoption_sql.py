"""The large usage history of the read benchmarks, generated inside Postgres: the same shape as
``adoption_data.usage_history`` (users arriving over the window, Pareto(1.3) active days, exponential events per
active day, Zipf-popular features, 10 % page views, one identify per user with plan, country and persona), written
straight into the raw events table. Generating 10,000,000 events in Python and copying them took over 10 minutes
here; set-based it takes about a minute, which keeps ``make bench`` within its budget.

Deterministic by seed: ``setseed`` with parallel plans off, so ``random()`` is drawn in one order.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from benchmarks.adoption_data import COUNTRIES, PERSONAS, PLANS, HistoryShape
from benchmarks.adoption_load import CREATE_RAW, RAW_TABLE


def _text_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


async def generate_raw_events(dsn: str, project: str, shape: HistoryShape, zone: str, connections: int = 2) -> int:
    """Fill the raw events table with about ``shape.events`` events (identifies included); returns the count. Each
    of ``connections`` sessions generates its share of the users (an INSERT ... SELECT runs on one core)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(CREATE_RAW)
        await conn.execute(f"ALTER TABLE {RAW_TABLE} SET UNLOGGED")  # only the naive baseline reads it
    finally:
        await conn.close()
    share = -(-shape.users // connections)
    parts = [range(n * share, min(shape.users, (n + 1) * share)) for n in range(connections)]

    async def generate(part: int, users: range) -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return await _generate_users(conn, project, shape, zone, users, seed=shape.seed * connections + part)
        finally:
            await conn.close()

    return sum(await asyncio.gather(*(generate(n, users) for n, users in enumerate(parts))))


async def _generate_users(
    conn: asyncpg.Connection, project: str, shape: HistoryShape, zone: str, users: range, seed: int
) -> int:
    start = datetime.combine(shape.last_day - timedelta(days=shape.days - 1), datetime.min.time(), tzinfo=UTC)
    weights = [1 / (rank + 1) for rank in range(shape.features)]
    total = sum(weights)
    # Upper bounds of each feature's share of [0, 1): width_bucket(random(), bounds) picks a feature by popularity.
    bounds, running = [], 0.0
    for w in weights[:-1]:
        running += w / total
        bounds.append(running)
    await conn.execute("SET max_parallel_workers_per_gather = 0")
    await conn.fetchval("SELECT setseed($1)", (seed % 1000) / 1000)
    days, first, last = int(shape.days), int(users.start), int(users.stop) - 1  # inlined: no parameters here
    await conn.execute(
        f"""CREATE TEMP TABLE bench_user_days AS
            WITH users AS (
                SELECT u, first_day, least({days} - first_day, floor(power(1 - r, -1 / 1.3))::int) AS active_days
                FROM (SELECT u, floor(random() * {days})::int AS first_day, random() AS r
                      FROM generate_series({first}, {last}) AS u) AS drawn
            )
            SELECT u, first_day AS day, true AS first FROM users
            UNION ALL
            SELECT u, d, false FROM users, generate_series(first_day + 1, {days} - 1) AS d
            WHERE active_days > 1 AND random() < (active_days - 1)::float8 / ({days} - 1 - first_day)"""
    )
    user_days = await conn.fetchval("SELECT count(*) FROM bench_user_days")
    # Events per active day beyond the first: exponential, so the total lands near the target.
    mean_extra = max(0.0, (shape.events - shape.users) * len(users) / shape.users / user_days - 1)
    inserted = await conn.execute(
        f"""INSERT INTO {RAW_TABLE} (project, event_id, distinct_id, ts, day, type, active, feature, traits)
            SELECT $1, md5($1 || ':' || u || ':' || day || ':' || k)::uuid, 'user-' || u, ts,
                   (ts AT TIME ZONE $4)::date, CASE WHEN page THEN 'page' ELSE 'track' END, true,
                   CASE WHEN page THEN NULL ELSE 'feature-' || lpad(width_bucket(pick, $5::float8[])::text, 2, '0') END,
                   NULL
            FROM (
                SELECT u, day, k, $2::timestamptz + make_interval(days => day, secs => floor(random() * 86400)) AS ts,
                       random() < 0.1 AS page, random() AS pick
                FROM bench_user_days,
                     -- "+ 0 * u" ties the call to its row: without it the series is drawn once and reused.
                     generate_series(0, floor(-ln(1 - random()) * $3 + 0.5)::int + 0 * u) AS k
            ) AS events""",
        project,
        start,
        mean_extra,
        zone,
        bounds,
    )
    identified = await conn.execute(
        f"""INSERT INTO {RAW_TABLE} (project, event_id, distinct_id, ts, day, type, active, feature, traits)
            SELECT $1, md5($1 || ':identify:' || u)::uuid, 'user-' || u, ts, (ts AT TIME ZONE $3)::date,
                   'identify', false, NULL,
                   jsonb_build_object(
                       'plan', ({_text_array(PLANS)})[1 + floor(random() * {len(PLANS)})::int],
                       'country', ({_text_array(COUNTRIES)})[1 + floor(random() * {len(COUNTRIES)})::int],
                       'persona', ({_text_array(PERSONAS)})[1 + floor(random() * {len(PERSONAS)})::int])
            FROM (SELECT u, $2::timestamptz + make_interval(days => day, secs => floor(random() * 86000)) AS ts
                  FROM bench_user_days WHERE first) AS firsts""",
        project,
        start,
        zone,
    )
    await conn.execute("DROP TABLE bench_user_days")
    await conn.execute("RESET max_parallel_workers_per_gather")
    return int(inserted.split()[-1]) + int(identified.split()[-1])
