"""``pulse generate``: sent through the real ingest API, every generated event is accepted (the generator speaks
the APIs apps use); written to the topics, the services tell its story (the bad release is the least crash-free)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx

from tests.e2e.conftest import StartService, create_project_with_cli, service_env
from tests.helpers import eventually


def generate(database_url: str, kafka_bootstrap: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "pulse_common.cli", "generate", *args],
        env=service_env(database_url, kafka_bootstrap),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def test_generated_events_sent_through_ingest_are_all_accepted(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    summary = generate(
        database_url,
        kafka_bootstrap,
        project.project,
        "--days=3",
        "--users=60",
        "--to=ingest",
        f"--ingest-url={ingest.url}",
        f"--write-key={project.write_key}",
    )
    events, receipts = summary["events"], summary["receipts"]
    usage = sum(n for kind, n in events.items() if kind.startswith("usage:"))
    feedback = sum(n for kind, n in events.items() if kind.startswith("feedback:"))
    assert usage > 100
    assert receipts["usage"] == {"accepted": usage, "duplicates": 0}
    assert receipts["sessions"] == {"accepted": events["session_updates"], "duplicates": 0}
    assert receipts["feedback"] == ({"accepted": feedback, "duplicates": 0} if feedback else {})


async def test_generated_history_tells_its_story_through_the_release_api(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    start_service("pulse_metrics", "consumer", http=False)
    api = start_service("pulse_metrics", "api")
    summary = generate(database_url, kafka_bootstrap, project.project, "--days=56", "--users=400", "--seed=4")
    sessions = summary["events"]["session_updates"] // 2  # an opening and a closing update each
    window = {"from": summary["from"], "to": summary["to"]}

    async def releases() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            answer = await client.get(
                f"/v1/projects/{project.project}/releases",
                params=window,
                headers={"Authorization": f"Bearer {project.read_key}"},
            )
        listed: list[dict[str, Any]] = answer.json()["releases"]
        return listed

    listed = await eventually(releases, lambda rows: sum(r["sessions"] for r in rows) == sessions, timeout_s=120)
    assert {r["release"] for r in listed} == set(summary["releases"])
    worst = min(listed, key=lambda r: r["crash_free_sessions"])
    assert worst["release"] == summary["bad_release"]
    assert max(r["crash_free_sessions"] for r in listed if r is not worst) > worst["crash_free_sessions"] + 0.03
