import uuid

import asyncpg
import pytest

from pulse_common.projects import CreatedProject, create_project


@pytest.fixture
async def project(pool: asyncpg.Pool) -> CreatedProject:
    async with pool.acquire() as conn:
        return await create_project(conn, f"p-{uuid.uuid4().hex[:12]}", "Europe/Berlin")
