"""The load the fault tests put on ingest: 100-odd track events per batch, each batch sent until ingest acknowledges
it (a retryable 503 is retried, as Segment's SDKs do; anything else fails the test), until told to stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx


@dataclass
class Load:
    per_batch: int
    acknowledged: int = 0  # events ingest answered 200 for (accepted, or reported duplicates of accepted ones)
    sent: int = 0  # events of the batches sent, each until acknowledged
    batches: int = 0
    refused: list[int] = field(default_factory=list)  # the batch number of each retried 503

    async def send(
        self, ingest_url: str, write_key: str, *, done: asyncio.Event, min_batches: int, pause_s: float = 0.05
    ) -> None:
        """Batches until ``done`` is set (and at least ``min_batches``)."""
        async with httpx.AsyncClient(base_url=ingest_url, timeout=30) as client:
            while self.batches < min_batches or not done.is_set():
                b = self.batches
                batch = [
                    {"type": "track", "userId": f"u{i}", "event": "Loaded", "messageId": f"m{b}-{i}"}
                    for i in range(self.per_batch)
                ]
                while True:
                    answer = await client.post(
                        "/v1/batch", json={"batch": batch}, headers={"Authorization": f"Bearer {write_key}"}
                    )
                    if answer.status_code == 200:
                        self.acknowledged += answer.json()["accepted"] + len(answer.json()["duplicates"])
                        break
                    assert answer.status_code == 503, answer.text
                    assert "Retry-After" in answer.headers
                    self.refused.append(b)
                    await asyncio.sleep(0.2)
                self.sent += self.per_batch
                self.batches += 1
                await asyncio.sleep(pause_s)
