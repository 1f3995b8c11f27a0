"""The broker paused (SIGSTOP) and then stopped during ingest: ingest answers 503 with Retry-After for what it could
not publish, never 200; it recovers by itself when the broker returns; a client that retries loses nothing. The
consumer rides out both outages without a restart, and every event ingest acknowledged is counted exactly once.

The broker is the test's own Tansu, which keeps its data in memory only: a stopped broker loses its log (real Kafka
keeps it; that is the dev broker's limit, not Pulse's). So before the stop the test waits until everything
acknowledged so far is counted, and after it the consumer must notice that the log it had read was replaced by a
shorter one and read the new log from its beginning (the runner's ``_restart_shortened_logs``), its event-id claims
keeping anything applied twice counted once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pulse_common import topics
from pulse_common.broker import BrokerUnavailable, free_port, start_broker
from pulse_common.db import drop_database
from pulse_common.kafka import ensure_topics, partition_for
from pulse_common.projects import CreatedProject
from tests.conftest import create_migrated, fresh_database_url
from tests.e2e.conftest import Service, StartService, create_project_with_cli
from tests.faults.figures import counted_today
from tests.helpers import eventually

log = logging.getLogger(__name__)

USAGE_PARTITIONS = next(spec.partitions for spec in topics.TOPIC_SPECS if spec.name == topics.USAGE)
USERS_PER_PARTITION = 6
PER_BATCH = USERS_PER_PARTITION * USAGE_PARTITIONS
# Batches acknowledged before the pause, after it, and after the stop. Each batch grows every partition alike, so the
# new broker's logs stay shorter than the offsets stored from the old one: the runner tells a replaced log only by
# its being shorter, and one that had outgrown them before the consumer fetched would have its beginning skipped.
BEFORE_PAUSE, AFTER_PAUSE, AFTER_STOP = 15, 15, 8
RETRY_PAUSE_S = 0.2


class OwnBroker:
    """A Tansu of the test's own on a fixed port, which the test pauses, kills and starts again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_broker(self.port)

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # a stopped (SIGSTOP) process dies of SIGKILL too
            self.process.wait(timeout=10)


@pytest.fixture
def own_broker() -> Iterator[OwnBroker]:
    broker = OwnBroker()
    try:
        broker.start()
    except BrokerUnavailable as exc:
        pytest.fail(f"the test's broker could not be started: {exc}")
    yield broker
    broker.kill()


@pytest.fixture
async def own_database(database_url: str) -> AsyncIterator[str]:
    """A database of the test's own: offsets are stored per topic and partition, not per broker, so this broker's
    offsets must not replace those the session broker's consumers stored in the session database."""
    dsn = fresh_database_url("pulse_broker_fault")
    await create_migrated(dsn)
    yield dsn
    await drop_database(dsn)


def balanced_users(project: str) -> list[str]:
    """User ids whose usage keys fall USERS_PER_PARTITION on each partition of the usage topic."""
    chosen: dict[int, list[str]] = {p: [] for p in range(USAGE_PARTITIONS)}
    i = 0
    while any(len(users) < USERS_PER_PARTITION for users in chosen.values()):
        user = f"u{i}"
        partition = partition_for(topics.usage_key(project, user, None), USAGE_PARTITIONS)
        if len(chosen[partition]) < USERS_PER_PARTITION:
            chosen[partition].append(user)
        i += 1
    return [user for users in chosen.values() for user in users]


class RetryingClient:
    """A Segment-like client: batches of distinct messageIds, each sent again after a 503 until acknowledged.

    Any answer but 200, or 503 with Retry-After, fails the test; so does a 200 while ``broker_down`` is set.
    """

    def __init__(self, url: str, project: CreatedProject) -> None:
        self._url = url
        self._project = project
        self._users = balanced_users(project.project)
        self.phase = "start"
        self.broker_down = False
        self.acknowledged = 0  # events
        self.batches: Counter[str] = Counter()  # batches acknowledged, by phase
        self.refused: Counter[str] = Counter()  # 503 answers, by phase
        self._sending = asyncio.Event()  # cleared: stop between two batches
        self._sending.set()
        self._idle = asyncio.Event()  # set while stopped between two batches
        self._done = False

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self._url, timeout=30) as client:
            b = 0
            while not self._done:
                if not self._sending.is_set():
                    self._idle.set()
                    await self._sending.wait()
                    self._idle.clear()
                    continue
                await self._send(client, b)
                b += 1
                await asyncio.sleep(0.02)

    async def _send(self, client: httpx.AsyncClient, b: int) -> None:
        batch = [
            {"type": "track", "userId": user, "event": "Loaded", "messageId": f"m{b}-{i}"}
            for i, user in enumerate(self._users)
        ]
        while True:
            answer = await client.post(
                "/v1/batch", json={"batch": batch}, headers={"Authorization": f"Bearer {self._project.write_key}"}
            )
            if answer.status_code == 200:
                assert not self.broker_down, f"a 200 while the broker was down: {answer.text}"
                body: Any = answer.json()
                assert body["accepted"] + len(body["duplicates"]) == PER_BATCH, body
                self.acknowledged += PER_BATCH
                self.batches[self.phase] += 1
                return
            assert answer.status_code == 503, answer.text
            assert "Retry-After" in answer.headers, answer.headers
            self.refused[self.phase] += 1
            await asyncio.sleep(RETRY_PAUSE_S)

    async def pause(self) -> None:
        """Stop between two batches: none is in flight once this returns."""
        self._sending.clear()
        await self._idle.wait()

    def resume(self, phase: str) -> None:
        self.phase = phase
        self._sending.set()

    async def finish(self) -> None:
        await self.pause()
        self._done = True
        self._sending.set()


async def duplicates_skipped(consumer: Service) -> float:
    """Events the daily-event projection skipped as already applied (its Prometheus counter)."""
    async with httpx.AsyncClient(timeout=5) as client:
        metrics = (await client.get(f"{consumer.url}/metrics")).text
    found = re.search(r'^pulse_consumer_duplicates_total\{projection="metrics.daily_events"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_ingest_and_consumer_ride_out_the_broker_paused_and_stopped(
    own_database: str, own_broker: OwnBroker, start_service: StartService
) -> None:
    bootstrap = own_broker.bootstrap
    on_own = {"PULSE_DATABASE_URL": own_database, "PULSE_KAFKA_BOOTSTRAP": bootstrap}
    project = create_project_with_cli(own_database, bootstrap, "UTC")
    # Short producer timeouts so refusals come quickly; the 503 comes only once the refused batch has expired.
    ingest = start_service("pulse_ingest", PULSE_KAFKA_REQUEST_TIMEOUT_MS="1000", PULSE_PUBLISH_TIMEOUT_S="3", **on_own)
    api = start_service("pulse_metrics", "api", **on_own)
    # The consumer waits the outages out (recovery by itself) instead of exiting after 30 s without a broker.
    consumer = start_service(
        "pulse_metrics",
        "consumer",
        http=False,
        PULSE_CONSUMER_MAX_RECORDS="50",
        PULSE_KAFKA_UNREACHABLE_EXIT_S="300",
        **on_own,
    )
    services = (ingest, api, consumer)
    pids = [s.process.pid for s in services]
    today = datetime.now(UTC).date().isoformat()
    client = RetryingClient(ingest.url, project)

    async def counted() -> int:
        return await counted_today(api.url, project, today)

    async def acknowledged_batches(phase: str, at_least: int) -> None:
        await eventually(lambda: asyncio.sleep(0, client.batches[phase]), lambda n: n >= at_least, timeout_s=60)

    async def refusals(phase: str, at_least: int) -> None:
        await eventually(lambda: asyncio.sleep(0, client.refused[phase]), lambda n: n >= at_least, timeout_s=30)

    async def faults() -> None:
        # Paused, while the consumer is applying: requests wait for the broker and get 503; after SIGCONT, 200s.
        await acknowledged_batches("start", BEFORE_PAUSE)
        await eventually(counted, lambda n: n > 0, timeout_s=60)  # the consumer has joined its group
        client.phase = "paused"
        own_broker.signal(signal.SIGSTOP)
        await refusals("paused", 2)
        own_broker.signal(signal.SIGCONT)
        client.phase = "resumed"
        await acknowledged_batches("resumed", AFTER_PAUSE)

        # Stopped: the in-memory broker loses its log, so everything acknowledged is counted first.
        await client.pause()
        acknowledged = client.acknowledged
        assert await eventually(counted, lambda n: n >= acknowledged, timeout_s=60) == acknowledged
        own_broker.kill()
        client.broker_down = True
        client.resume("stopped")
        await refusals("stopped", 2)
        # Tansu knows no topic after a restart: a producer that remembers the old ones writes into logs the broker
        # does not list (acknowledged, yet consumer-group commits on them fail), and the first metadata request for
        # a topic creates it with 4 partitions. Real Kafka keeps its topics. So, as an operator restoring a broker
        # would, the test creates them (ensure_topics) before the services reach it, holding ingest and the
        # consumer still meanwhile (SIGSTOP, for about a second: they are not restarted).
        held = (ingest, consumer)
        for service in held:
            service.process.send_signal(signal.SIGSTOP)
        try:
            own_broker.start()
            await ensure_topics(bootstrap)
            client.broker_down = False
            client.phase = "restarted"
        finally:
            for service in held:
                service.process.send_signal(signal.SIGCONT)
        await acknowledged_batches("restarted", AFTER_STOP)
        await client.finish()

    await asyncio.gather(client.run(), faults())

    acknowledged = client.acknowledged
    assert await eventually(counted, lambda n: n >= acknowledged, timeout_s=60) == acknowledged
    await asyncio.sleep(2)  # a double count would show by now
    assert await counted() == acknowledged
    for service in services:
        assert service.process.poll() is None, f"{service.name} exited:\n{service.log()}"
    assert [s.process.pid for s in services] == pids  # none restarted
    # The consumer found its stored offsets beyond the new broker's logs and read those from their beginning.
    assert "the log was recreated or lost" in consumer.log(), consumer.log()
    log.info(
        "acknowledged %d events in %s batches; 503s %s; duplicates skipped by the consumer: %d",
        acknowledged,
        dict(client.batches),
        dict(client.refused),
        await duplicates_skipped(consumer),
    )
