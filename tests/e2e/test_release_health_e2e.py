"""Release health end to end: the real sentry-sdk (application-mode sessions, one crashed by an unhandled exception,
one errored; request-mode aggregates) and ``POST /v1/sessions``, through ingest, the metrics consumer and the
release APIs, checked against numbers worked out by hand."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pulse_common import topics
from pulse_common.events import SessionsAggregated
from tests.e2e.conftest import StartService, create_project_with_cli, run_sentry_app
from tests.helpers import eventually
from tests.integration.ingest_app import events_on


def session(sid: str, user: str, status: str, started: datetime) -> dict[str, Any]:
    return {
        "sid": sid,
        "did": user,
        "init": True,
        "started": started.isoformat(),
        "timestamp": (started + timedelta(seconds=30)).isoformat(),
        "status": status,
        "errors": 0,
        "duration": 30,
        "attrs": {"release": "shop@1.5.0", "environment": "production"},
    }


async def test_sentry_sdk_and_sessions_api_give_the_release_figures_worked_out_by_hand(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    api = start_service("pulse_metrics", "api")
    start_service("pulse_metrics", "consumer", http=False)
    dsn = f"http://{project.write_key}@127.0.0.1:{ingest.port}/1"
    runs = [("user-a", "ok"), ("user-a", "ok"), ("user-b", "errored"), ("user-c", "crash"), ("user-c", "ok")]
    runs.append(("user-r", "request"))  # five request-mode sessions, sent as an aggregate
    for user, mode in runs:
        result = await asyncio.to_thread(run_sentry_app, dsn, user, mode)
        assert result.returncode == (1 if mode == "crash" else 0), result.stderr.decode()
    now = datetime.now(UTC).replace(microsecond=0)
    posted = [
        session("n1", "u1", "exited", now - timedelta(minutes=3)),
        session("n2", "u2", "exited", now - timedelta(minutes=3)),
        session("n3", "u3", "crashed", now - timedelta(minutes=2)),
        session("n4", "u1", "exited", now - timedelta(minutes=1)),
    ]
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
        response = await client.post(
            "/v1/sessions", json={"sessions": posted}, headers={"Authorization": f"Bearer {project.write_key}"}
        )
        assert response.json()["accepted"] == 4, response.text
    # Whether the SDK's aggregate names its user decides whether user-r is a user of the release.
    aggregates = [
        e
        for e in await events_on(kafka_bootstrap, topics.SESSIONS, project.project, 10)
        if isinstance(e, SessionsAggregated)
    ]
    aggregate_user = any(a.distinct_id == "user-r" for a in aggregates)

    # shop@1.4.0: user-a 2 healthy, user-b 1 errored, user-c 1 crashed + 1 healthy, 5 healthy request sessions.
    users = 3 + aggregate_user
    old = {
        "sessions": 10,
        "crashed_sessions": 1,
        "errored_sessions": 1,
        "abnormal_sessions": 0,
        "users": users,
        "crashed_users": 1,
        "crash_free_sessions": 0.9,
        "crash_free_users": 1 - 1 / users,
        "healthy_sessions_rate": 0.8,
        "healthy_users_rate": 1 - 2 / users,
    }
    # shop@1.5.0: u1 two exited sessions, u2 exited, u3 crashed.
    new = {
        "sessions": 4,
        "crashed_sessions": 1,
        "errored_sessions": 0,
        "abnormal_sessions": 0,
        "users": 3,
        "crashed_users": 1,
        "crash_free_sessions": 0.75,
        "crash_free_users": 1 - 1 / 3,
        "healthy_sessions_rate": 0.75,
        "healthy_users_rate": 1 - 1 / 3,
    }
    # The sessions' local dates: run just after midnight, the first ones fall on the day before.
    first_day = (now - timedelta(hours=1)).date()
    window = {"from": first_day.isoformat(), "to": now.date().isoformat()}
    headers = {"Authorization": f"Bearer {project.read_key}"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30) as client:
        path = f"/v1/projects/{project.project}/releases"

        async def listed() -> dict[str, Any]:
            return dict((await client.get(path, params=window)).json())

        body = await eventually(
            listed, lambda b: sorted(r.get("sessions") for r in b.get("releases", [])) == [4, 10], timeout_s=60
        )
        # Newest first (by first session): 1.5.0, unless the test ran across an hour and 1.4.0's first session fell
        # in the later hour.
        first_seen = [r["first_seen"] for r in body["releases"]]
        assert first_seen == sorted(first_seen, reverse=True)
        by_release = {r["release"]: r for r in body["releases"]}
        for release, expected in (("shop@1.4.0", old), ("shop@1.5.0", new)):
            row = by_release[release]
            assert {k: row[k] for k in expected} == pytest.approx(expected), release
            assert row["environment"] == "production"
            assert row["stage"] == "adopted"
        assert by_release["shop@1.4.0"]["adoption_sessions"] == pytest.approx(10 / 14)
        assert by_release["shop@1.5.0"]["adoption_sessions"] == pytest.approx(4 / 14)
        assert body["timezone"] == "UTC"
        assert "crash_free_users" in body["definitions"]

        hourly = (await client.get(f"{path}/shop@1.4.0/health", params={**window, "interval": "hour"})).json()["series"]
        assert len(hourly) == 24 * ((now.date() - first_day).days + 1)
        assert sum(p["sessions"] for p in hourly) == 10
        assert sum(p["crashed_sessions"] for p in hourly) == 1

        compared = (
            await client.get(f"{path}/compare", params={**window, "base": "shop@1.4.0", "candidate": "shop@1.5.0"})
        ).json()
        assert compared["base"]["crash_free_sessions"] == pytest.approx(0.9)
        assert compared["candidate"]["crash_free_sessions"] == pytest.approx(0.75)
        crash_free = next(c for c in compared["comparisons"] if c["metric"] == "crash_free_sessions")
        assert crash_free["difference"] == pytest.approx(-0.15)
        assert crash_free["significant"] is False  # 14 sessions say nothing at 95 %
        csv = await client.get(path, params={**window, "format": "csv"})
        assert csv.text.splitlines()[0].startswith("release,environment,first_seen")
