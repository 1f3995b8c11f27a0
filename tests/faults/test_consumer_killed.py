"""A consumer killed with SIGKILL in the middle of its batches, again and again, while ingest takes load: when it
is over, every event ingest acknowledged is counted exactly once, and nothing else is (the oracle of Kafka's own
system tests)."""

from __future__ import annotations

import asyncio
import random
import signal
from datetime import UTC, datetime

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.faults.figures import counted_today
from tests.faults.load import Load
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
    load = Load(PER_BATCH)
    kills = 0
    counted_at_kills: list[int] = []

    async def counted() -> int:
        return await counted_today(api.url, project, today)

    kills_done = asyncio.Event()

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

    await asyncio.gather(
        load.send(ingest.url, project.write_key, done=kills_done, min_batches=MIN_BATCHES, pause_s=0.1),
        kill_repeatedly(),
    )
    assert kills == KILLS
    assert load.refused == []  # the broker never failed: every batch was acknowledged at once
    acknowledged = load.acknowledged

    # The kills fell while events were being counted, not before the first or after the last.
    assert any(0 < n < acknowledged for n in counted_at_kills), counted_at_kills
    assert await eventually(counted, lambda n: n >= acknowledged, timeout_s=90) == acknowledged
    await asyncio.sleep(2)  # a double count would show by now
    assert await counted() == acknowledged
