"""DELETE /v1/projects/{project}/users/{distinct_id}: the admin key only; the erasure goes to every event topic; the
user's further events are refused until `pulse user unsuppress`, their neighbours' are not."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from pulse_common import topics
from pulse_common.events import UserDeleted
from pulse_common.settings import CommonSettings
from tests.integration.ingest_app import events_on, ingest_client, new_project


def unsuppress(settings: CommonSettings, project: str, user: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PULSE_DATABASE_URL": settings.dsn, "PULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    command = [sys.executable, "-m", "pulse_common.cli", "user", "unsuppress", project, user]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


async def test_erasing_a_user_suppresses_them_and_publishes_the_erasure_everywhere(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    mine, theirs = await new_project(pool), await new_project(pool)
    path = f"/v1/projects/{mine.project}/users/gone"
    batch = {"batch": [{"type": "track", "userId": user, "event": "Opened"} for user in ("gone", "stays")]}
    write = {"Authorization": f"Bearer {mine.write_key}"}
    # A time to live of 0: the suppression set is read on every request (the unsuppress below is another process).
    async with ingest_client(settings.database_url, settings.kafka_bootstrap, key_cache_ttl_s=0) as client:
        for key, status in ((mine.read_key, 403), (mine.write_key, 403), (theirs.admin_key, 404), ("", 401)):
            refused = await client.delete(path, headers={"Authorization": f"Bearer {key}"})
            assert refused.status_code == status, refused.text
        before = await client.post("/v1/batch", json=batch, headers=write)
        assert before.json()["accepted"] == 2

        erased = await client.delete(path, headers={"Authorization": f"Bearer {mine.admin_key}"})
        assert erased.status_code == 202, erased.text
        assert (erased.json()["distinct_id"], erased.json()["suppressed"]) == ("gone", True)

        after = (await client.post("/v1/batch", json=batch, headers=write)).json()
        assert after["accepted"] == 1
        assert [(r["index"], r["code"]) for r in after["rejected"]] == [(0, "user_suppressed")]
        feedback = {"responses": [{"userId": "gone", "kind": "nps", "score": 9}]}
        refused_feedback = (await client.post("/v1/feedback", json=feedback, headers=write)).json()
        assert [r["code"] for r in refused_feedback["rejected"]] == ["user_suppressed"]

        assert unsuppress(settings, mine.project, "gone").returncode == 0
        again = unsuppress(settings, mine.project, "gone")
        assert again.returncode == 1
        assert "not suppressed" in again.stderr
        assert (await client.post("/v1/batch", json=batch, headers=write)).json()["accepted"] == 2

    # Everything the project published on each topic: 5 accepted usage events and the erasure; the erasure alone on
    # the others (the erased user's feedback was refused).
    for topic, published in ((topics.USAGE, 6), (topics.SESSIONS, 1), (topics.FEEDBACK, 1)):
        events = await events_on(settings.kafka_bootstrap, topic, mine.project, published)
        assert len(events) == published, topic
        erasures = [e for e in events if isinstance(e, UserDeleted)]
        assert [e.distinct_id for e in erasures] == ["gone"], topic
