"""The SDKs apps already use, pointed at a running ingest: segment-analytics-python and sentry-sdk."""

import asyncio
from typing import Any

import httpx
from segment.analytics import Client

from pulse_common import topics
from pulse_common.events import SessionsAggregated, SessionUpdated, UsageEventRecorded
from tests.e2e.conftest import StartService, create_project_with_cli, run_sentry_app
from tests.helpers import eventually
from tests.integration.ingest_app import events_on


async def test_segment_analytics_python_events_arrive_with_their_fields(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    errors: list[Any] = []
    client = Client(
        project.write_key, host=ingest.url, sync_mode=True, gzip=True, on_error=lambda e, _: errors.append(e)
    )
    await asyncio.to_thread(client.track, "ana", "Report Exported", {"feature": "export", "rows": 3})
    await asyncio.to_thread(client.identify, "ana", {"plan": "enterprise", "country": "DE"})
    await asyncio.to_thread(client.page, "ana", "Docs", "Pricing", {"path": "/pricing"})
    await asyncio.to_thread(client.screen, "ana", "Mobile", "Settings")
    await asyncio.to_thread(client.group, "ana", "acme-inc", {"seats": 40})
    await asyncio.to_thread(client.alias, "anon-123", "ana")
    await asyncio.to_thread(client.flush)
    assert errors == []

    events = await events_on(kafka_bootstrap, topics.USAGE, project.project, 6)
    by_type: dict[str, UsageEventRecorded] = {e.type: e for e in events}
    assert set(by_type) == {"track", "identify", "page", "screen", "group", "alias"}
    assert by_type["track"].name == "Report Exported"
    assert by_type["track"].properties == {"feature": "export", "rows": 3}
    assert by_type["track"].context["library"]["name"] == "analytics-python"
    assert by_type["track"].message_id is not None
    assert by_type["identify"].traits == {"plan": "enterprise", "country": "DE"}
    assert (by_type["page"].name, by_type["page"].properties["path"]) == ("Pricing", "/pricing")
    assert by_type["screen"].name == "Settings"
    assert by_type["group"].group_id == "acme-inc"
    assert (by_type["alias"].previous_id, by_type["alias"].distinct_id) == ("anon-123", "ana")
    assert all(e.distinct_id == "ana" for e in events)


async def test_sentry_sdk_release_health_arrives_as_sessions(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    dsn = f"http://{project.write_key}@127.0.0.1:{ingest.port}/1"
    results = {
        mode: await asyncio.to_thread(run_sentry_app, dsn, f"user-{mode}", mode)
        for mode in ("ok", "errored", "crash", "request")
    }
    assert results["crash"].returncode == 1
    assert b"unhandled: the app crashes" in results["crash"].stderr
    for mode in ("ok", "errored", "request"):
        assert results[mode].returncode == 0, results[mode].stderr.decode()

    def final_states(events: list[Any]) -> dict[str, SessionUpdated]:
        latest: dict[str, SessionUpdated] = {}
        for e in events:
            if isinstance(e, SessionUpdated) and (
                e.distinct_id not in latest or e.timestamp >= latest[e.distinct_id].timestamp
            ):
                latest[e.distinct_id or ""] = e
        return latest

    events = await events_on(kafka_bootstrap, topics.SESSIONS, project.project, 4)
    states = final_states(events)
    assert states["user-ok"].status == "exited"
    assert states["user-ok"].errors == 0
    assert states["user-errored"].status == "exited"
    assert states["user-errored"].errors >= 1
    assert states["user-crash"].status == "crashed"
    assert {(s.release, s.environment) for s in states.values()} == {("shop@1.4.0", "production")}
    aggregates = [e for e in events if isinstance(e, SessionsAggregated)]
    assert sum(a.exited + a.errored + a.crashed + a.abnormal for a in aggregates) == 5
    assert all(a.release == "shop@1.4.0" for a in aggregates)


async def test_rejected_events_are_served_by_the_rejections_api(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "Europe/Berlin")
    ingest = start_service("pulse_ingest")
    metrics_api = start_service("pulse_metrics", "api")
    start_service("pulse_metrics", "consumer", http=False)
    bad = [
        {"type": "track", "event": "x", "messageId": "r1"},
        {"type": "track", "event": "x", "messageId": "r2"},
        {"type": "track", "userId": "u", "messageId": "r3"},
        {"type": "track", "userId": "u", "event": "fine", "messageId": "ok"},
    ]
    async with httpx.AsyncClient(timeout=30) as client:
        posted = await client.post(f"{ingest.url}/v1/batch", json={"writeKey": project.write_key, "batch": bad})
        assert posted.json()["accepted"] == 1
        headers = {"Authorization": f"Bearer {project.read_key}"}
        path = f"{metrics_api.url}/v1/projects/{project.project}/rejections"

        async def summary() -> dict[str, Any]:
            return dict((await client.get(path, headers=headers)).json())

        body = await eventually(summary, lambda b: b.get("total") == 3)
        assert body["counts"] == [{"code": "missing_identity", "count": 2}, {"code": "missing_event", "count": 1}]
        assert body["timezone"] == "Europe/Berlin"
        assert sorted(s["messageId"] for s in body["samples"]) == ["r1", "r2", "r3"]
        assert all(s["stream"] == "usage" and s["payload"].startswith("{") for s in body["samples"])
        only = (await client.get(path, params={"code": "missing_event"}, headers=headers)).json()
        assert (only["total"], [s["messageId"] for s in only["samples"]]) == (1, ["r3"])
        csv = await client.get(path, params={"format": "csv"}, headers=headers)
        assert csv.text.splitlines() == ["code,count", "missing_identity,2", "missing_event,1"]
