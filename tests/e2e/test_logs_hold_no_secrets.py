"""Logs never hold keys or event payloads: every service runs at DEBUG through accepted, rejected, malformed and
unauthorized traffic, and then its whole log is searched for each key and for a marker planted in every payload."""

import uuid
from typing import Any

import httpx

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.helpers import eventually


async def test_no_key_and_no_payload_reaches_any_log(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    debug = {"PULSE_LOG_LEVEL": "DEBUG"}
    services = [
        start_service("pulse_ingest", **debug),
        start_service("pulse_metrics", "api", **debug),
        start_service("pulse_metrics", "consumer", http=False, **debug),
        start_service("pulse_feedback", "api", **debug),
        start_service("pulse_feedback", "consumer", http=False, **debug),
    ]
    ingest, metrics_api, feedback_api = services[0], services[1], services[3]
    marker = f"payload-marker-{uuid.uuid4().hex}"
    wrong_key = f"pk_write_{uuid.uuid4().hex}"
    write = {"Authorization": f"Bearer {project.write_key}"}
    good: dict[str, Any] = {"type": "track", "userId": "u1", "event": "Opened", "properties": {"note": marker}}
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
        accepted = await client.post(
            "/v1/batch", json={"batch": [good, {"type": "track", "userId": marker}]}, headers=write
        )
        assert accepted.json()["accepted"] == 1  # the second has no event name: rejected (and dead-lettered)
        feedback = {
            "responses": [
                {"userId": "u1", "kind": "nps", "score": 11, "comment": marker},
                {"userId": "u1", "kind": "nps", "score": 9, "comment": marker},
            ]
        }
        assert (await client.post("/v1/feedback", json=feedback, headers=write)).json()["accepted"] == 1
        malformed = await client.post(
            "/v1/batch", content=f'{{"batch": [{marker}', headers={**write, "Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        for key in (wrong_key, project.read_key):
            refused = await client.post("/v1/batch", json={"batch": [good]}, headers={"Authorization": f"Bearer {key}"})
            assert refused.status_code == 401
        body_key = await client.post("/v1/batch", json={"writeKey": wrong_key, "batch": [good]})
        assert body_key.status_code == 401
    for api, path in ((metrics_api, "/active-users"), (feedback_api, "/satisfaction/nps")):
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            url = f"/v1/projects/{project.project}{path}"
            for key in (project.admin_key, project.write_key, wrong_key):
                await client.get(url, headers={"Authorization": f"Bearer {key}"})

            async def counted(url: str = url) -> Any:
                answer = await client.get(url, headers={"Authorization": f"Bearer {project.read_key}"})
                return answer.json()

            if api is metrics_api:
                await eventually(counted, lambda b: any(d["dau"] for d in b.get("series", [])))
            else:
                await eventually(counted, lambda b: b.get("window", {}).get("n") == 1)
    for service in services:
        service.stop()
        log = service.log()
        assert log.strip(), f"{service.name} logged nothing at DEBUG: the search would prove nothing"
        for secret in (project.write_key, project.read_key, project.admin_key, wrong_key, marker):
            assert secret not in log, f"{service.name} logged {secret[:12]}…"
