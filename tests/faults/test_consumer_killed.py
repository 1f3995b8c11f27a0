"""A consumer killed with SIGKILL in the middle of its batches, again and again, while ingest takes load: when it
is over, every event ingest acknowledged is counted exactly once, and nothing else is (the oracle of Kafka's own
system tests)."""

from __future__ import annotations

import asyncio
import random
import signal
from datetime import UTC, datetime

import httpx

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.faults.figures import counted_today
from tests.helpers import eventually

MIN_BATCHES, PER_BATCH, KILLS = 40, 100, 4


async def test_a_consumer_killed_mid_batch_repeatedly_counts_every_acknowledged_event_once(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    rng = random.Random(7)
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    api = start_service("pulse_metrics", "api")
    # Small batches, so a kill lands inside one more often than between two.
    consumer = start_service("pulse_metrics", "consumer", http=False, PULSE_CONSUMER_MAX_RECORDS="50")
    today = datetime.now(UTC).date().isoformat()
    acknowledged = sent = 0
    kills = 0
    counted_at_kills: list[int] = []

    async def counted() -> int:
        return await counted_today(api.url, project, today)

    kills_done = asyncio.Event()

    async def send_load() -> None:
        """Batches until every kill has happened (and at least MIN_BATCHES)."""
        nonlocal acknowledged, sent
        async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
            b = 0
            while b < MIN_BATCHES or not kills_done.is_set():
                batch = [
                    {"type": "track", "userId": f"u{i % 37}", "event": "Loaded", "messageId": f"m{b}-{i}"}
                    for i in range(PER_BATCH)
                ]
                answer = await client.post(
                    "/v1/batch", json={"batch": batch}, headers={"Authorization": f"Bearer {project.write_key}"}
                )
                sent += PER_BATCH
                if answer.status_code == 200:  # a 503 acknowledges nothing: it is a client's to retry
                    acknowledged += answer.json()["accepted"]
                b += 1
                await asyncio.sleep(0.1)

    async def kill_repeatedly() -> None:
        """Each time the consumer is applying (its count moved), kill it a moment later: inside a batch or between
        two, wherever that falls."""
        nonlocal consumer, kills
        for _ in range(KILLS):
            before = await counted()
            await eventually(counted, lambda n, before=before: n > before, timeout_s=60)
            await asyncio.sleep(rng.uniform(0.0, 0.2))
            counted_at_kills.append(await counted())
            consumer.process.send_signal(signal.SIGKILL)
            consumer.process.wait(timeout=10)
            kills += 1
            consumer = start_service("pulse_metrics", "consumer", http=False, PULSE_CONSUMER_MAX_RECORDS="50")
        kills_done.set()

    await asyncio.gather(send_load(), kill_repeatedly())
    assert kills == KILLS
    assert acknowledged == sent  # the broker never failed: every event was acknowledged

    # The kills fell while events were being counted, not before the first or after the last.
    assert any(0 < n < acknowledged for n in counted_at_kills), counted_at_kills
    assert await eventually(counted, lambda n: n >= acknowledged, timeout_s=90) == acknowledged
    await asyncio.sleep(2)  # a double count would show by now
    assert await counted() == acknowledged
