"""Tenant isolation and keys: every read endpoint of every service, called with another project's key, a write key,
another project's admin key, a revoked key, a malformed header or no key, answers 401/403/404 and no data; ingest
takes only its project's unrevoked write key; a revoked key stops working within the key cache's time to live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from pulse_common import key_admin
from pulse_common.settings import CommonSettings
from pulse_feedback.app import create_app as feedback_app
from pulse_feedback.settings import FeedbackSettings
from pulse_metrics.app import create_app as metrics_app
from pulse_metrics.settings import MetricsSettings
from tests.helpers import eventually
from tests.integration.ingest_app import ingest_client, new_project

PATH_VALUES = {"feature": "export", "release": "1.0", "distinct_id": "u1", "kind": "nps"}


def read_paths(app: FastAPI, project: str) -> list[str]:
    """Every GET path of a project in the service's OpenAPI document: its whole read surface."""
    return [
        path.format(project=project, **PATH_VALUES)
        for path, operations in app.openapi()["paths"].items()
        if "get" in operations and path.startswith("/v1/projects/{project}")
    ]


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://read") as client,
    ):
        yield client


def refused(answer: httpx.Response, status: int, code: str) -> bool:
    """The status and code expected, and nothing but the error in the body."""
    return answer.status_code == status and answer.json() == {"code": code, "message": answer.json()["message"]}


@pytest.mark.parametrize("service", ["metrics", "feedback"])
async def test_every_read_endpoint_refuses_every_key_but_its_projects_read_and_admin_keys(
    settings: CommonSettings, pool: asyncpg.Pool, service: str
) -> None:
    mine, theirs = await new_project(pool), await new_project(pool)
    async with pool.acquire() as conn:
        revoked = await key_admin.rotate_key(conn, mine.project, "read", revoke_previous=False)
        await key_admin.revoke_key(conn, mine.project, revoked)
    common: dict[str, Any] = {"database_url": settings.database_url, "kafka_bootstrap": settings.kafka_bootstrap}
    app = metrics_app(MetricsSettings(**common)) if service == "metrics" else feedback_app(FeedbackSettings(**common))
    paths = read_paths(app, mine.project)
    assert len(paths) >= (10 if service == "metrics" else 4)
    refusals = [
        ({"Authorization": f"Bearer {theirs.read_key}"}, 404, "project_not_found"),
        ({"Authorization": f"Bearer {theirs.admin_key}"}, 404, "project_not_found"),
        ({"Authorization": f"Bearer {mine.write_key}"}, 403, "forbidden"),
        ({"Authorization": f"Bearer {revoked}"}, 401, "unauthorized"),
        ({"Authorization": f"Basic {mine.read_key}"}, 401, "unauthorized"),
        ({"Authorization": "Bearer "}, 401, "unauthorized"),
        ({}, 401, "unauthorized"),
    ]
    async with serving(app) as client:
        for path in paths:
            for key in (mine.read_key, mine.admin_key):
                allowed = await client.get(path, headers={"Authorization": f"Bearer {key}"})
                # Allowed through: figures, or a 404 about the thing named in the path (no such release yet).
                assert allowed.status_code == 200 or allowed.json()["code"] not in (
                    "unauthorized",
                    "forbidden",
                    "project_not_found",
                ), (path, allowed.text)
            for headers, status, code in refusals:
                answer = await client.get(path, headers=headers)
                assert refused(answer, status, code), (path, headers, answer.status_code, answer.text)
                assert mine.project not in answer.text or code == "project_not_found", answer.text


async def test_ingest_takes_only_its_projects_unrevoked_write_key(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    mine = await new_project(pool)
    async with pool.acquire() as conn:
        old_write = mine.write_key
        new_write = await key_admin.rotate_key(conn, mine.project, "write", revoke_previous=True)
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "Opened"}]}
    async with ingest_client(settings.database_url, settings.kafka_bootstrap) as client:
        for key in (mine.read_key, mine.admin_key, old_write, "pk_write_made-up"):
            answer = await client.post("/v1/batch", json=batch, headers={"Authorization": f"Bearer {key}"})
            assert refused(answer, 401, "unauthorized"), answer.text
        answer = await client.post("/v1/batch", json=batch, headers={"Authorization": f"Bearer {new_write}"})
        assert answer.status_code == 200, answer.text


async def test_a_revoked_key_stops_working_within_the_key_cache_ttl(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    mine = await new_project(pool)
    ttl = MetricsSettings().key_cache_ttl_s
    app = metrics_app(MetricsSettings(database_url=settings.database_url, kafka_bootstrap=settings.kafka_bootstrap))
    path = f"/v1/projects/{mine.project}/active-users"
    headers = {"Authorization": f"Bearer {mine.read_key}"}
    async with serving(app) as client:
        assert (await client.get(path, headers=headers)).status_code == 200  # now cached as valid
        async with pool.acquire() as conn:
            listed = await key_admin.list_keys(conn, mine.project)
            (read,) = [k for k in listed if k.kind == "read"]
            await key_admin.revoke_key(conn, mine.project, read.key_id)  # by its id, as `pulse key list` shows it
        revoked_at = time.monotonic()

        async def status() -> int:
            return (await client.get(path, headers=headers)).status_code

        await eventually(status, lambda s: s == 401, timeout_s=ttl + 2)
        assert time.monotonic() - revoked_at <= ttl + 1


def pulse(settings: CommonSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PULSE_DATABASE_URL": settings.dsn, "PULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    return subprocess.run(
        [sys.executable, "-m", "pulse_common.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


async def test_pulse_key_rotate_list_and_revoke(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    mine = await new_project(pool)
    rotated = pulse(settings, "key", "rotate", mine.project, "write", "--revoke-previous")
    assert rotated.returncode == 0, rotated.stderr
    new_write = json.loads(rotated.stdout)["key"]
    assert new_write.startswith("pk_write_")
    listed = json.loads(pulse(settings, "key", "list", mine.project).stdout)
    writes = [k for k in listed if k["kind"] == "write"]
    assert [k["revoked_at"] is None for k in writes] == [False, True]  # the old one revoked, the new one active
    assert all(new_write not in json.dumps(k) for k in listed)  # keys are never shown again, only their ids
    revoked = pulse(settings, "key", "revoke", mine.project, writes[1]["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"] is not None
    again = pulse(settings, "key", "revoke", mine.project, writes[1]["key_id"])
    assert again.returncode == 1
    assert "no active key" in again.stderr
    unknown = pulse(settings, "key", "rotate", "no-such-project", "read")
    assert unknown.returncode == 1
    assert "does not exist" in unknown.stderr
