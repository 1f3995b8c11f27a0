"""A person erased through the API disappears from the figures: active users and NPS fall as if they had never
been there, and their verbatims are gone; the real processes, end to end."""

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.helpers import eventually


async def test_an_erased_user_leaves_no_trace_in_the_figures(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    metrics_api = start_service("pulse_metrics", "api")
    start_service("pulse_metrics", "consumer", http=False)
    feedback_api = start_service("pulse_feedback", "api")
    start_service("pulse_feedback", "consumer", http=False)
    today = datetime.now(UTC).date().isoformat()
    window = {"from": today, "to": today}
    write = {"Authorization": f"Bearer {project.write_key}"}
    read = {"Authorization": f"Bearer {project.read_key}"}
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
        usage = {"batch": [{"type": "track", "userId": u, "event": "Opened"} for u in ("ana", "bo")]}
        assert (await client.post("/v1/batch", json=usage, headers=write)).json()["accepted"] == 2
        feedback = {
            "responses": [
                {"userId": "ana", "kind": "nps", "score": 10, "comment": "ana loves it"},
                {"userId": "bo", "kind": "nps", "score": 2, "comment": "bo does not"},
            ]
        }
        assert (await client.post("/v1/feedback", json=feedback, headers=write)).json()["accepted"] == 2

    async with (
        httpx.AsyncClient(base_url=metrics_api.url, headers=read, timeout=30) as metrics,
        httpx.AsyncClient(base_url=feedback_api.url, headers=read, timeout=30) as fb,
    ):
        base = f"/v1/projects/{project.project}"

        async def figures() -> tuple[int, int, list[str]]:
            active: Any = (await metrics.get(f"{base}/active-users", params=window)).json()
            nps: Any = (await fb.get(f"{base}/satisfaction/nps", params=window)).json()
            verbatims: Any = (await fb.get(f"{base}/responses", params=window)).json()
            return active["series"][-1]["dau"], nps["window"]["n"], [r["comment"] for r in verbatims["responses"]]

        await eventually(figures, lambda f: f[0] == 2 and f[1] == 2)
        async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
            erased = await client.delete(f"{base}/users/ana", headers={"Authorization": f"Bearer {project.admin_key}"})
            assert erased.status_code == 202, erased.text
        *_, comments = await eventually(figures, lambda f: f[0] == 1 and f[1] == 1)
        assert comments == ["bo does not"]
        nps = (await fb.get(f"{base}/satisfaction/nps", params=window)).json()["window"]
        assert (nps["promoters"], nps["detractors"], nps["score"]) == (0, 1, -100.0)
