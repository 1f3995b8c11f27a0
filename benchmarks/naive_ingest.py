"""The baseline ingest the real one is measured against: FastAPI parses a ``list[Model]`` body and the handler
awaits one ``send()`` per event (acks=all). Run as ``python -m benchmarks.naive_ingest PORT BOOTSTRAP``."""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pydantic
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request


class Message(pydantic.BaseModel):
    type: str
    messageId: str | None = None  # noqa: N815
    userId: str | None = None  # noqa: N815
    anonymousId: str | None = None  # noqa: N815
    event: str | None = None
    properties: dict[str, Any] = {}
    context: dict[str, Any] = {}
    timestamp: datetime | None = None


class Batch(pydantic.BaseModel):
    batch: list[Message]
    writeKey: str | None = None  # noqa: N815


def create_app(bootstrap: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
        await app.state.producer.start()
        yield
        await app.state.producer.stop()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/batch")
    async def batch(body: Batch, request: Request) -> dict[str, Any]:
        producer: AIOKafkaProducer = request.app.state.producer
        futures = [
            await producer.send(
                "pulse.usage.v1", m.model_dump_json().encode(), key=(m.userId or m.anonymousId or "").encode()
            )
            for m in body.batch
        ]
        await asyncio.gather(*futures)
        return {"success": True, "accepted": len(futures)}

    return app


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
