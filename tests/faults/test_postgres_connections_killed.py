"""Every Postgres connection of the services killed (pg_terminate_backend), 40 times in quick succession, while
ingest takes load and a consumer applies it: no service is restarted, ingest refuses with a retryable status what
it cannot take (the client retries, as Segment's do), the consumer applies its batch again once the database
answers, the read API answers again, and every acknowledged event is counted once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import httpx

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.faults.figures import counted_today
from tests.faults.load import Load
from tests.helpers import eventually

BATCHES, PER_BATCH, KILLS, MAX_KILLS = 150, 50, 40, 400


async def test_services_survive_their_database_connections_being_killed(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest", PULSE_KEY_CACHE_TTL_S="0")  # every request needs the database
    api = start_service("pulse_metrics", "api", PULSE_KEY_CACHE_TTL_S="0")
    consumer = start_service("pulse_metrics", "consumer", http=False, PULSE_CONSUMER_MAX_RECORDS="50")
    pids = {s.name + str(i): s.process.pid for i, s in enumerate((ingest, api, consumer))}
    database = database_url.rsplit("/", 1)[1]
    today = datetime.now(UTC).date().isoformat()
    load = Load(PER_BATCH)
    killed: list[int] = []

    kills_done = asyncio.Event()

    async def kill_connections() -> None:
        """At least KILLS rounds, and on until a kill has landed inside the consumer's work (its log says so)."""
        admin = await asyncpg.connect(database_url)
        try:
            await asyncio.sleep(4)  # the consumer has joined its group and is applying
            while len(killed) < KILLS or (
                "the database is unreachable" not in consumer.log() and len(killed) < MAX_KILLS
            ):
                await asyncio.sleep(0.15)
                terminated = await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    database,
                )
                killed.append(len(terminated))
        finally:
            await admin.close()
            kills_done.set()

    await asyncio.gather(
        load.send(ingest.url, project.write_key, done=kills_done, min_batches=BATCHES), kill_connections()
    )
    acknowledged = load.acknowledged
    assert sum(killed) >= KILLS, killed  # the rounds killed the services' connections

    async def counted() -> int:
        return await counted_today(api.url, project, today)

    async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
        assert await eventually(counted, lambda n: n >= load.sent, timeout_s=90) == load.sent
        await asyncio.sleep(2)
        assert await counted() == load.sent
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
    assert acknowledged == load.sent
    for service in (ingest, api, consumer):
        assert service.process.poll() is None, f"{service.name} exited:\\n{service.log()}"
    assert {s.name + str(i): s.process.pid for i, s in enumerate((ingest, api, consumer))} == pids  # none restarted
    # The consumer lost connections in the middle of its work, and applied those batches again.
    assert "the database is unreachable" in consumer.log()
