"""End to end: a project created with the CLI, events posted to ingest, counted by the metrics consumer, read back
from the metrics API."""

import asyncio
import base64
import gzip
import json
import signal
from typing import Any

import httpx

from pulse_common import broker as embedded_broker
from tests.e2e.conftest import StartService, create_project_with_cli
from tests.helpers import eventually


def track(user: str, event: str, timestamp: str, message_id: str) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "timestamp": timestamp, "messageId": message_id}


async def test_events_posted_to_ingest_appear_in_the_daily_counts_api(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "Europe/Berlin")
    ingest = start_service("pulse_ingest", PULSE_USAGE_HORIZON_DAYS="3650")
    metrics_api = start_service("pulse_metrics", "api")
    consumer = start_service("pulse_metrics", "consumer", http=False)

    first = [
        track("ana", "Report Exported", "2026-03-28T22:30:00Z", "m1"),  # 23:30 in Berlin: March 28
        track("ana", "Report Exported", "2026-03-28T23:30:00Z", "m2"),  # 00:30 in Berlin: March 29
        {
            "type": "page",
            "anonymousId": "anon-1",
            "name": "Pricing",
            "timestamp": "2026-03-29T10:00:00Z",
            "messageId": "m3",
        },
        {"type": "identify", "userId": "ana", "traits": {"plan": "pro"}, "messageId": "m4"},
    ]
    second = [track("bo", "Report Exported", "2026-03-29T09:00:00Z", "m5"), track("bo", "", "x", "bad")]
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
        by_body = await client.post("/v1/batch", json={"writeKey": project.write_key, "batch": first})
        basic = base64.b64encode(f"{project.write_key}:".encode()).decode()
        by_basic = await client.post("/v1/batch", json={"batch": second}, headers={"Authorization": f"Basic {basic}"})
        # The first batch again (a client retry), gzipped and with a Bearer key.
        by_bearer = await client.post(
            "/v1/batch",
            content=gzip.compress(json.dumps({"batch": first}).encode()),
            headers={
                "Authorization": f"Bearer {project.write_key}",
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
            },
        )
    assert by_body.status_code == 200, by_body.text
    assert by_body.json() == {"success": True, "accepted": 4, "duplicates": [], "rejected": []}
    assert by_basic.status_code == 200, by_basic.text
    assert by_basic.json()["accepted"] == 1
    assert [(r["index"], r["messageId"], r["code"]) for r in by_basic.json()["rejected"]] == [
        (1, "bad", "invalid_event")
    ]
    assert by_bearer.status_code == 200, by_bearer.text
    # Ingest remembers what it published: the retry is reported as duplicates and not published again.
    assert by_bearer.json()["accepted"] == 0
    assert by_bearer.json()["duplicates"] == [{"index": i, "messageId": f"m{i + 1}"} for i in range(4)]

    expected = [
        {"date": "2026-03-28", "event": "Report Exported", "count": 1},
        {"date": "2026-03-29", "event": "$page", "count": 1},
        {"date": "2026-03-29", "event": "Report Exported", "count": 2},
    ]
    async with httpx.AsyncClient(
        base_url=metrics_api.url, headers={"Authorization": f"Bearer {project.read_key}"}, timeout=10
    ) as api:

        async def daily() -> dict[str, Any]:
            response = await api.get(f"/v1/projects/{project.project}/events/daily?from=2026-03-27&to=2026-03-30")
            assert response.status_code == 200, response.text
            return dict(response.json())

        body = await eventually(daily, lambda b: b["series"] == expected and b["as_of"] is not None)
        assert body["timezone"] == "Europe/Berlin"
        assert (body["project"], body["from"], body["to"]) == (project.project, "2026-03-27", "2026-03-30")
        assert "daily_event_count" in body["definition"]
        await asyncio.sleep(1)  # a double count would show up by now
        assert (await daily())["series"] == expected

        csv = await api.get(
            f"/v1/projects/{project.project}/events/daily",
            params={"from": "2026-03-28", "to": "2026-03-28", "format": "csv"},
        )
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines() == ["date,event,count", "2026-03-28,Report Exported,1"]

    assert consumer.stop(signal.SIGTERM) == 0, consumer.log()
    assert "stopped after finishing every batch under way" in consumer.log()


async def test_keys_are_checked_on_both_sides(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    other = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    metrics_api = start_service("pulse_metrics", "api")
    batch = {"batch": [track("u", "e", "2026-11-01T00:00:00Z", "k1")]}
    async with httpx.AsyncClient(timeout=10) as client:
        for key in (None, "pk_write_nope", project.read_key):
            body = {**batch, "writeKey": key} if key else batch
            response = await client.post(f"{ingest.url}/v1/batch", json=body)
            assert response.status_code == 401, (key, response.text)
            assert response.json()["code"] == "unauthorized"
        path = f"{metrics_api.url}/v1/projects/{project.project}/events/daily?from=2026-11-01&to=2026-11-02"
        cases = {None: 401, "pk_read_nope": 401, project.write_key: 403, other.read_key: 404, project.admin_key: 200}
        for key, status in cases.items():
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            response = await client.get(path, headers=headers)
            assert response.status_code == status, (key, response.text)
            if status != 200:
                assert set(response.json()) == {"code", "message"}
                assert project.project not in response.text or status == 404
        bad_range = await client.get(
            f"{metrics_api.url}/v1/projects/{project.project}/events/daily?from=2026-11-05&to=2026-11-01",
            headers={"Authorization": f"Bearer {project.read_key}"},
        )
        assert bad_range.status_code == 400
        assert bad_range.json()["code"] == "invalid_parameter"
        assert "to" in bad_range.json()["message"]


async def test_a_consumer_that_cannot_reach_its_database_exits_non_zero(
    start_service: StartService, database_url: str
) -> None:
    unreachable = database_url.rsplit("/", 1)[0] + "/pulse_no_such_database"
    consumer = start_service("pulse_metrics", "consumer", http=False, PULSE_DATABASE_URL=unreachable)
    assert consumer.process.wait(timeout=60) == 1
    assert "resumes from its stored offsets on restart" in consumer.log()


async def test_a_consumer_whose_broker_is_gone_exits_non_zero(start_service: StartService) -> None:
    port = embedded_broker.free_port()
    own_broker = embedded_broker.start_broker(port)
    try:
        consumer = start_service(
            "pulse_metrics",
            "consumer",
            http=False,
            PULSE_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}",
            PULSE_KAFKA_UNREACHABLE_EXIT_S="3",
        )
        await eventually(lambda: asyncio.sleep(0, consumer.log()), lambda text: "assigned" in text)
        own_broker.kill()
        own_broker.wait(timeout=10)
        assert consumer.process.wait(timeout=60) == 1, consumer.log()
        assert "no broker answered" in consumer.log()
    finally:
        if own_broker.poll() is None:
            own_broker.kill()
