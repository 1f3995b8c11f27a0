"""Postgres crashed and restarted (``pg_ctl restart -m immediate``) again and again while ingest takes load and a
consumer applies it, then stopped for longer: every service's ``/readyz`` reports the database unavailable while it
is down, and ready again after; no service is restarted; ingest refuses with a retryable status what it cannot
take (the client retries); and every acknowledged event is counted once.

The server is the test's own (tests/faults/private_postgres.py): crashing the machine's shared one would take every
other test's database with it."""

from __future__ import annotations

import asyncio
import operator
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import httpx
import pytest

from tests.conftest import create_migrated
from tests.e2e.conftest import Service, StartService, create_project_with_cli
from tests.faults.figures import counted_today
from tests.faults.load import Load
from tests.faults.private_postgres import PrivatePostgres
from tests.helpers import eventually

MIN_BATCHES, PER_BATCH, RESTARTS = 60, 50, 3


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.create()
        server.start()
    except (OSError, subprocess.SubprocessError) as exc:
        server.destroy()
        pytest.fail(f"a private Postgres server could not be started: {exc}")
    yield server
    server.destroy()


@pytest.fixture
async def private_database(private_postgres: PrivatePostgres) -> str:
    dsn = private_postgres.dsn("pulse_fault")
    await create_migrated(dsn)
    return dsn


async def readiness(service: Service) -> tuple[int, str]:
    """The status of ``/readyz`` and what it says of the database."""
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
            answer = await client.get("/readyz")
    except httpx.HTTPError as exc:
        return -1, repr(exc)
    return answer.status_code, str(answer.json().get("checks", {}).get("database"))


async def test_services_ride_out_postgres_crashing_and_restarting(
    start_service: StartService, private_postgres: PrivatePostgres, private_database: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(private_database, kafka_bootstrap, "UTC")
    on_private = {"PULSE_DATABASE_URL": private_database, "PULSE_KEY_CACHE_TTL_S": "0"}
    ingest = start_service("pulse_ingest", **on_private)
    api = start_service("pulse_metrics", "api", **on_private)
    consumer = start_service("pulse_metrics", "consumer", http=False, PULSE_CONSUMER_MAX_RECORDS="50", **on_private)
    services = (ingest, api, consumer)
    pids = [s.process.pid for s in services]
    today = datetime.now(UTC).date().isoformat()
    load = Load(PER_BATCH)
    readiness_while_down: dict[str, tuple[int, str]] = {}
    faults_done = asyncio.Event()

    async def counted() -> int:
        return await counted_today(api.url, project, today)

    async def crash_postgres() -> None:
        try:
            for _ in range(RESTARTS):
                # Each crash lands while the consumer is applying: its count has just moved.
                before = await counted()
                await eventually(counted, partial(operator.lt, before), timeout_s=60)
                await asyncio.to_thread(private_postgres.restart_immediately)
            # Down for longer: every service says so on /readyz, and says it is ready once the server is back.
            await asyncio.to_thread(private_postgres.stop_immediately)
            for index, service in enumerate(services):
                readiness_while_down[f"{service.name}{index}"] = await eventually(
                    partial(readiness, service), lambda r: r[0] == 503, timeout_s=30
                )
            await asyncio.sleep(1)
            await asyncio.to_thread(private_postgres.start)
            for service in services:
                await eventually(partial(readiness, service), lambda r: r[0] == 200, timeout_s=60)
        finally:
            faults_done.set()

    await asyncio.gather(
        load.send(ingest.url, project.write_key, done=faults_done, min_batches=MIN_BATCHES), crash_postgres()
    )
    acknowledged = load.acknowledged

    for status, database in readiness_while_down.values():
        assert status == 503, readiness_while_down
        assert database.startswith("unavailable"), readiness_while_down
    assert acknowledged == load.sent  # every refused batch was retried until acknowledged
    assert load.refused, "ingest never refused: the crashes did not reach it"
    assert await eventually(counted, lambda n: n >= acknowledged, timeout_s=90) == acknowledged
    await asyncio.sleep(2)  # a double count would show by now
    assert await counted() == acknowledged
    for service in services:
        assert service.process.poll() is None, f"{service.name} exited:\n{service.log()}"
    assert [s.process.pid for s in services] == pids  # none restarted
    assert "the database is unreachable" in consumer.log()
    print(f"{acknowledged} events acknowledged, {len(load.refused)} refusals retried", file=sys.stderr)
