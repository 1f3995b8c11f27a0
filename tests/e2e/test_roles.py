"""The container image's command, `pulse run ROLE`, for every role: each starts the right process, answers its
health endpoint, and stops cleanly on SIGTERM; `migrate` migrates."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from pulse_common.cli.roles import ROLES, SERVICE_ROLES
from tests.e2e.conftest import StartService, service_env
from tests.helpers import eventually


def test_migrate_role_applies_migrations(database_url: str, kafka_bootstrap: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pulse_common.cli", "run", "migrate"],
        env=service_env(database_url, kafka_bootstrap),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "migrations: up to date"  # the test database was migrated already


@pytest.mark.parametrize("role", sorted(SERVICE_ROLES))
async def test_service_roles_start_answer_health_and_stop_on_sigterm(start_service: StartService, role: str) -> None:
    is_api = not role.endswith("consumer")
    service = start_service("pulse_common.cli", "run", role, http=is_api)

    async def health() -> int:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{service.url}/healthz")).status_code
        except httpx.TransportError:
            return 0

    await eventually(health, lambda status: status == 200, timeout_s=30)
    # exec: the role's own process got the signal and stopped within the grace period. Consumers exit 0 after
    # their batch; uvicorn finishes its requests, then re-raises the SIGTERM it caught, as it chooses to.
    expected = (0, -signal.SIGTERM) if is_api else (0,)
    assert service.stop(timeout_s=20) in expected, service.log()


def test_every_role_has_a_command() -> None:
    assert set(ROLES) == {*SERVICE_ROLES, "migrate"}
    bad = subprocess.run([sys.executable, "-m", "pulse_common.cli", "run", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr
