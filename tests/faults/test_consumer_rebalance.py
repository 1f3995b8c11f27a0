"""Two consumers of one group share the partitions; while both are applying, one is killed (SIGKILL), its partitions
move to the other once its session expires, and it is restarted and takes its share back: rebalance after
rebalance under load, every event ingest acknowledged is counted exactly once, and nothing else is.

Each projection is its own consumer group and its offsets live in Postgres, locked in the transaction that applies
a batch, so a member that loses partitions in the middle of a batch cannot double count what the next owner reads.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import random
import re
import signal
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from pulse_common import topics
from tests.e2e.conftest import Service, StartService, create_project_with_cli
from tests.faults.figures import counted_today
from tests.faults.load import Load
from tests.helpers import eventually

log = logging.getLogger(__name__)

MIN_BATCHES, PER_BATCH, KILLS = 40, 50, 2
USAGE_PARTITIONS = next(spec.partitions for spec in topics.TOPIC_SPECS if spec.name == topics.USAGE)
ALL_PARTITIONS = frozenset(range(USAGE_PARTITIONS))
ASSIGNED = re.compile(r"metrics\.daily_events: assigned (\[.*?\]) at stored offsets")


def assignments(consumer: Service) -> list[frozenset[int]]:
    """The usage partitions the consumer's daily-event runner was given, one set per assignment it logged."""
    return [
        frozenset(partition for _, partition in ast.literal_eval(found.group(1)))
        for found in ASSIGNED.finditer(consumer.log())
    ]


async def assigned_since(
    consumer: Service, seen: int, until: Callable[[list[frozenset[int]]], bool]
) -> list[frozenset[int]]:
    """Wait until the assignments the consumer logged after its first ``seen`` satisfy ``until`` (bounded: a
    rebalance on the test broker takes a few seconds, plus a killed member's session timeout of 10 s)."""

    async def probe() -> list[frozenset[int]]:
        return assignments(consumer)[seen:]

    return await eventually(probe, until, timeout_s=60)


async def applied(consumer: Service) -> float:
    """Events the consumer's daily-event runner applied since it started (its Prometheus counter); 0 until its
    endpoint answers."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(f"{consumer.url}/metrics")
    except httpx.TransportError:
        return 0.0
    # A rebalance must not break the scrape (it once did: progress of a revoked partition, 500 until reassigned).
    assert answer.status_code == 200, answer.text
    metrics = answer.text
    found = re.search(
        r'^pulse_consumer_events_applied_total\{projection="metrics.daily_events"\} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_two_consumers_rebalancing_as_one_is_killed_and_restarted_count_every_event_once(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    rng = random.Random(11)
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    api = start_service("pulse_metrics", "api")

    def start_consumer() -> Service:
        # Small batches, so a kill or a revocation lands inside one more often than between two.
        return start_service("pulse_metrics", "consumer", http=False, PULSE_CONSUMER_MAX_RECORDS="50")

    consumers = [start_consumer(), start_consumer()]
    everyone = list(consumers)  # every consumer process started, the killed ones too
    today = datetime.now(UTC).date().isoformat()
    load = Load(PER_BATCH)
    counted_at_kills: list[int] = []
    kills_done = asyncio.Event()

    async def counted() -> int:
        return await counted_today(api.url, project, today)

    async def both_applying() -> None:
        """Until each consumer's count has moved: both hold partitions and are working through them."""
        before = [await applied(c) for c in consumers]

        async def moved() -> list[bool]:
            return [await applied(c) > b for c, b in zip(consumers, before, strict=True)]

        await eventually(moved, all, timeout_s=60)

    async def kill_and_restart() -> None:
        for k in range(KILLS):
            await both_applying()
            await asyncio.sleep(rng.uniform(0.0, 0.2))
            victim, survivor = consumers[k % 2], consumers[1 - k % 2]
            seen_by_survivor = len(assignments(survivor))
            counted_at_kills.append(await counted())
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(timeout=10)
            # The killed member keeps its partitions until its session times out; then the survivor has them all.
            await assigned_since(survivor, seen_by_survivor, lambda new: ALL_PARTITIONS in new)
            restarted = start_consumer()
            everyone.append(restarted)
            consumers[k % 2] = restarted
            # The restarted member joins: the group rebalances again and it takes a share back.
            await assigned_since(restarted, 0, bool)
        await both_applying()  # the last one restarted is working through its share
        kills_done.set()

    await asyncio.gather(
        load.send(ingest.url, project.write_key, done=kills_done, min_batches=MIN_BATCHES, pause_s=0.1),
        kill_and_restart(),
    )
    acknowledged = load.acknowledged
    assert acknowledged == load.sent  # every batch was acknowledged in the end

    # The kills fell while events were being counted, not before the first or after the last.
    assert any(0 < n < acknowledged for n in counted_at_kills), counted_at_kills
    assert await eventually(counted, lambda n: n >= acknowledged, timeout_s=90) == acknowledged
    await asyncio.sleep(2)  # a double count would show by now
    assert await counted() == acknowledged
    for service in (ingest, api, *consumers):
        assert service.process.poll() is None, f"{service.name} exited:\n{service.log()}"
    log.info(
        "acknowledged %d events; assignments of the daily-event runner per consumer process: %s",
        acknowledged,
        [[sorted(a) for a in assignments(c)] for c in everyone],
    )
