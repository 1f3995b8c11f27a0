"""A throwaway stack for one benchmark trial: its own broker and database, services as processes (as deployed), and
their resident memory sampled while they work."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from benchmarks.ingest import wait_http
from pulse_common import broker as embedded_broker
from pulse_common.db import drop_database, ensure_database
from pulse_common.kafka import ensure_topics
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import CreatedProject, create_project
from pulse_common.settings import CommonSettings

RESULTS = Path("benchmarks/results")


@dataclass
class Stack:
    name: str
    broker: subprocess.Popen[bytes]
    bootstrap: str
    dsn: str
    project: CreatedProject
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def settings(self) -> CommonSettings:
        return CommonSettings(
            database_url=self.dsn,  # type: ignore[arg-type]
            kafka_bootstrap=self.bootstrap,
            kafka_idempotence=False,
        )

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PULSE_DATABASE_URL": self.dsn,
            "PULSE_KAFKA_BOOTSTRAP": self.bootstrap,
            "PULSE_KAFKA_IDEMPOTENCE": "false",
            "PULSE_LOG_LEVEL": "WARNING",
            # The load is one write key's: the per-key rate limit would measure itself.
            "PULSE_RATE_LIMIT_EVENTS_PER_S": "100000000",
            "PULSE_RATE_LIMIT_BURST": "100000000",
            **extra,
        }

    def spawn(self, label: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        logs = RESULTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{self.name}-{label}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, env=self.env(**env)
            )
        self.processes[label] = process
        return process

    def serve(self, label: str, port: int, *args: str, **env: str) -> subprocess.Popen[bytes]:
        process = self.spawn(label, *args, PULSE_PORT=str(port), **env)
        wait_http(port, "/healthz", process)
        return process

    async def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.broker.terminate()
        self.broker.wait(timeout=10)
        await drop_database(self.dsn)


async def open_stack(name: str, admin_dsn: str) -> Stack:
    port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(port)
    try:
        bootstrap = f"127.0.0.1:{port}"
        await ensure_topics(bootstrap)
        dsn = f"{admin_dsn.rsplit('/', 1)[0]}/pulse_bench_{name}"
        await drop_database(dsn)
        await ensure_database(dsn)
        conn = await asyncpg.connect(dsn)
        try:
            await apply_migrations(conn, all_migrations())
            project = await create_project(conn, "bench", "UTC")
        finally:
            await conn.close()
    except BaseException:
        broker.terminate()  # a trial that could not start leaves no broker behind
        broker.wait(timeout=10)
        raise
    return Stack(name, broker, bootstrap, dsn, project)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (ingest's workers), in MB."""
    total = 0
    pids = [pid] + [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat") if _parent(p) == pid]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _parent(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


class RssSampler:
    """The highest resident memory of each named process while the sampler runs."""

    def __init__(self, processes: dict[str, subprocess.Popen[bytes]], every_s: float = 0.5) -> None:
        self.processes = processes
        self.every_s = every_s
        self.peak_mb: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            for label, process in self.processes.items():
                self.peak_mb[label] = max(self.peak_mb.get(label, 0.0), rss_mb(process.pid))
            await asyncio.sleep(self.every_s)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
