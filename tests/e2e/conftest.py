"""Services as real processes (the same commands the local stack and the image run), driven over HTTP."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pulse_common.broker import free_port
from pulse_common.projects import CreatedProject


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout_s)


def service_env(database_url: str, kafka_bootstrap: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PULSE_DATABASE_URL": database_url,
        "PULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PULSE_KAFKA_IDEMPOTENCE": "false",
        **extra,
    }


def wait_ready(service: Service, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"{service.name} exited with {service.process.returncode}:\n{service.log()}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{service.name} not ready after {timeout_s} s:\n{service.log()}")


StartService = Callable[..., Service]
SERVICE_LOG_TAIL = 120  # lines of each service's log shown beside a failed test


def create_project_with_cli(database_url: str, kafka_bootstrap: str, timezone: str) -> CreatedProject:
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    result = subprocess.run(
        [sys.executable, "-m", "pulse_common.cli", "project", "create", name, "--timezone", timezone],
        env=service_env(database_url, kafka_bootstrap),
        capture_output=True,
        check=True,
        timeout=30,
    )
    printed = json.loads(result.stdout)
    assert set(printed) == {"project", "timezone", "write_key", "read_key", "admin_key"}
    return CreatedProject(**printed)


@pytest.fixture
def start_service(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> Iterator[StartService]:
    started: list[Service] = []

    def start(module: str, *args: str, http: bool = True, wait: bool = True, **env: str) -> Service:
        """``http``: an API (wait until ready); else a consumer, whose health and metrics endpoint gets a port."""
        port = free_port()
        environment = service_env(database_url, kafka_bootstrap, **env)
        environment["PULSE_PORT" if http else "PULSE_CONSUMER_PORT"] = str(port)
        log_path = tmp_path / f"{module}-{len(started)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module, *args], stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        service = Service(module, process, log_path, port)
        started.append(service)
        if http and wait:
            wait_ready(service)
        return service

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(timeout=10)
    # Captured, so pytest shows it only beside a failure: what each service logged last, for failures seen once in
    # many runs (a fault test's), whose temporary directory is gone by the time anyone looks.
    for service in started:
        print(f"--- the last {SERVICE_LOG_TAIL} lines of {service.log_path.name} ---")
        print("\n".join(service.log().splitlines()[-SERVICE_LOG_TAIL:]))


def run_sentry_app(dsn: str, user: str, mode: str) -> subprocess.CompletedProcess[bytes]:
    """``tests/e2e/sentry_app.py`` (the real sentry-sdk) as its own process: MODE ok | errored | crash | request."""
    return subprocess.run(
        [sys.executable, "-m", "tests.e2e.sentry_app", dsn, user, mode], capture_output=True, timeout=60, check=False
    )
