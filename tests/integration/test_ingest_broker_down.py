"""A broker that is down gets a retryable 503 (nothing accepted), and ingest recovers by itself when it returns."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg

from pulse_common import broker as embedded_broker
from pulse_common import topics
from pulse_common.kafka import ensure_topics
from pulse_common.settings import CommonSettings
from tests.integration.ingest_app import events_on, ingest_client, new_project


def batch(write_key: str, *message_ids: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "writeKey": write_key,
        "batch": [
            {"type": "track", "userId": "u", "event": "e", "messageId": m, "timestamp": now} for m in message_ids
        ],
    }


async def test_broker_down_answers_503_and_nothing_of_that_request_is_published(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    port = embedded_broker.free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = embedded_broker.start_broker(port)
    try:
        async with ingest_client(
            settings.dsn, bootstrap, kafka_request_timeout_ms=1000, publish_timeout_s=4, retry_after_s=7
        ) as client:
            assert (await client.post("/v1/batch", json=batch(project.write_key, "before"))).status_code == 200

            broker.kill()
            broker.wait(timeout=10)
            refused = await client.post("/v1/batch", json=batch(project.write_key, "x1", "x2"))
            ready = await client.get("/readyz")
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "broker_unavailable"
            assert refused.headers["Retry-After"] == "7"
            assert ready.status_code == 503
            assert ready.json()["checks"]["broker"].startswith("unavailable")

            # The broker comes back (empty: it keeps data in memory) and its topics are recreated.
            await asyncio.sleep(2)  # let the refused request's batch expire in the producer
            broker = embedded_broker.start_broker(port)
            await ensure_topics(bootstrap)
            after = await client.post("/v1/batch", json=batch(project.write_key, "after"))
            for _ in range(50):
                if after.status_code == 200:
                    break
                await asyncio.sleep(0.2)
                after = await client.post("/v1/batch", json=batch(project.write_key, "after"))
            assert after.status_code == 200, after.text
            retry = await client.post("/v1/batch", json=batch(project.write_key, "x1", "x2"))
            assert retry.json()["accepted"] == 2  # never acknowledged before, so not a duplicate
            assert (await client.get("/readyz")).status_code == 200

        published = await events_on(bootstrap, topics.USAGE, project.project, 3)
        assert sorted(e.message_id for e in published) == ["after", "x1", "x2"]
    finally:
        broker.kill()
        broker.wait(timeout=10)
