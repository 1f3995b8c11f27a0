"""The ingest app in-process (its lifespan run for real) against the test broker and database."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from pulse_common import codec
from pulse_common.projects import CreatedProject, create_project
from pulse_ingest.app import create_app
from pulse_ingest.settings import IngestSettings
from tests.helpers import read_topic


@asynccontextmanager
async def ingest_client(database_url: str, kafka_bootstrap: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(
        database_url=database_url,  # type: ignore[arg-type]
        kafka_bootstrap=kafka_bootstrap,
        kafka_idempotence=False,
        **overrides,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client,
    ):
        yield client


async def new_project(pool: asyncpg.Pool, timezone: str = "UTC") -> CreatedProject:
    async with pool.acquire() as conn:
        return await create_project(conn, f"in-{uuid.uuid4().hex[:12]}", timezone)


def of_project(project: str) -> Callable[[bytes], bool]:
    marker = f'"project":"{project}"'.encode()
    return lambda value: marker in value


async def events_on(bootstrap: str, topic: str, project: str, expected: int) -> list[Any]:
    decode = codec.topic_decoder(topic)
    return [decode(v) for v in await read_topic(bootstrap, topic, keep=of_project(project), expected=expected)]
