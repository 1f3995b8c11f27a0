"""Test infrastructure: a real Kafka-protocol broker on a free port and a fresh Postgres database per session.

Tests under tests/integration, tests/e2e and tests/faults get their marker from their folder. Only marked tests may
use the infrastructure fixtures; when Postgres or the broker is missing those tests fail, they never skip.
"""

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from pulse_common import broker as embedded_broker
from pulse_common.db import DatabaseUnavailable, create_pool, drop_database, ensure_database
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.settings import CommonSettings

_INFRA_MARKERS = ("integration", "e2e", "faults")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for marker in _INFRA_MARKERS:
            if marker in parts:
                item.add_marker(getattr(pytest.mark, marker))


def _require_marker(request: pytest.FixtureRequest) -> None:
    if not any(request.node.get_closest_marker(m) for m in _INFRA_MARKERS):
        pytest.fail(
            f"{request.node.nodeid} uses real infrastructure: "
            "it belongs in tests/integration, tests/e2e or tests/faults"
        )


@pytest.fixture(scope="session")
def broker_process() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = embedded_broker.free_port()
    try:
        process = embedded_broker.start_broker(port)
    except embedded_broker.BrokerUnavailable as exc:
        pytest.fail(f"the Kafka-protocol broker could not be started: {exc}")
    yield process, port
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def kafka_bootstrap(request: pytest.FixtureRequest, broker_process: tuple[subprocess.Popen[bytes], int]) -> str:
    _require_marker(request)
    process, port = broker_process
    if process.poll() is not None:
        pytest.fail(f"the test broker exited with code {process.returncode}")
    return f"127.0.0.1:{port}"


def _admin_dsn() -> str:
    return os.environ.get("PULSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def fresh_database_url(prefix: str = "pulse_test") -> str:
    base = _admin_dsn().rsplit("/", 1)[0]
    return f"{base}/{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


async def create_migrated(dsn: str) -> None:
    """Create the database named in ``dsn`` and apply every migration."""
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, all_migrations())
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def session_database() -> Iterator[str]:
    dsn = fresh_database_url()
    try:
        asyncio.run(create_migrated(dsn))
    except DatabaseUnavailable as exc:
        pytest.fail(f"Postgres is required for integration tests: {exc}")
    yield dsn
    asyncio.run(drop_database(dsn))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, session_database: str) -> str:
    _require_marker(request)
    return session_database


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, min_size=1, max_size=4)  # the services' pool settings
    yield created
    await created.close()


@pytest.fixture
def settings(database_url: str, kafka_bootstrap: str) -> CommonSettings:
    return CommonSettings(
        database_url=database_url,  # type: ignore[arg-type]
        kafka_bootstrap=kafka_bootstrap,
        kafka_idempotence=False,
    )
