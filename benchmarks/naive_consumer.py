"""The baseline consumer the real pipeline is measured against: Kafka's own group offsets (auto-commit), each
message parsed into a pydantic model and counted with one upsert per event, each its own transaction. It counts
what the daily-events projection counts, without its exactly-once bookkeeping.
``python -m benchmarks.naive_consumer BOOTSTRAP DSN TOPIC``."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

import asyncpg
import pydantic
from aiokafka import AIOKafkaConsumer


class Message(pydantic.BaseModel):
    type: str
    event: str | None = None
    timestamp: datetime | None = None


async def main(bootstrap: str, dsn: str, topic: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS naive_daily_counts (day date, event text, count bigint, PRIMARY KEY (day, event))"
    )
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id="naive", auto_offset_reset="earliest", enable_auto_commit=True
    )
    await consumer.start()
    try:
        async for record in consumer:
            message = Message.model_validate_json(record.value)
            if message.type != "track" or message.timestamp is None:
                continue
            await conn.execute(
                "INSERT INTO naive_daily_counts VALUES ($1, $2, 1) "
                "ON CONFLICT (day, event) DO UPDATE SET count = naive_daily_counts.count + 1",
                message.timestamp.date(),
                message.event,
            )
    finally:
        await consumer.stop()
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
