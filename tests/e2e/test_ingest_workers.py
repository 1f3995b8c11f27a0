"""Ingest with several worker processes (``PULSE_WORKERS``) on one port: the workers run as processes of their own,
events sent over many connections (which the kernel spreads over the shared socket) are all accepted, and the
workers stop with their supervisor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.helpers import eventually


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the parent pid
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


async def test_two_ingest_workers_share_the_port_and_accept_every_event(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest", PULSE_WORKERS="2")
    workers = children(ingest.process.pid)
    assert len(workers) >= 2, workers

    async def send(client: httpx.AsyncClient, n: int) -> int:
        batch = [{"type": "track", "userId": f"u{i}", "event": "Loaded", "messageId": f"w{n}-{i}"} for i in range(20)]
        answer = await client.post(
            "/v1/batch", json={"batch": batch}, headers={"Authorization": f"Bearer {project.write_key}"}
        )
        assert answer.status_code == 200, answer.text
        accepted: int = answer.json()["accepted"]
        return accepted

    # New connections each time, so the kernel spreads them over the workers' shared socket.
    async def one(n: int) -> int:
        async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as client:
            return await send(client, n)

    assert sum(await asyncio.gather(*(one(n) for n in range(40)))) == 800
    assert children(ingest.process.pid) == workers  # none died

    # SIGTERM (what Kubernetes and `make down` send) stops the workers with their supervisor: none is left behind
    # (multiprocessing's resource tracker, a child too, goes a moment after the supervisor).
    assert ingest.stop() == 0

    async def left() -> list[int]:
        return alive(workers)

    assert await eventually(left, lambda pids: not pids, timeout_s=10) == []
