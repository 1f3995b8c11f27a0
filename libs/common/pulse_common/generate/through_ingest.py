"""Generated events sent as apps send them: Segment batches, release-health sessions and feedback responses to the
ingest API with the project's write key, a 503 or 429 retried after its Retry-After. Ingest applies its own rules
(horizons: sessions older than 5 days are refused), so this suits recent days; the receipts are tallied."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded

_PER_REQUEST = 400


def segment_message(event: UsageEventRecorded) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": event.type,
        "userId": event.user_id,
        "messageId": event.message_id,
        "timestamp": event.timestamp.isoformat(),
    }
    if event.type == "track":
        message["event"] = event.name
    elif event.type in ("page", "screen"):
        message["name"] = event.name
    if event.properties:
        message["properties"] = event.properties
    if event.traits:
        message["traits"] = event.traits
    return message


def session_update(event: SessionUpdated) -> dict[str, Any]:
    update: dict[str, Any] = {
        "sid": event.session_id,
        "did": event.distinct_id,
        "init": event.init,
        "started": event.started.isoformat(),
        "timestamp": event.timestamp.isoformat(),
        "status": event.status,
        "errors": event.errors,
        "attrs": {"release": event.release, "environment": event.environment},
    }
    if event.duration_s is not None:
        update["duration"] = event.duration_s
    return update


def feedback_response(event: FeedbackResponded) -> dict[str, Any]:
    fields = {
        "messageId": event.message_id,
        "userId": event.user_id,
        "kind": event.kind,
        "score": event.score,
        "comment": event.comment,
        "feature": event.feature,
        "release": event.release,
        "channel": event.channel,
        "survey": event.survey,
        "timestamp": event.timestamp.isoformat(),
    }
    return {k: v for k, v in fields.items() if v is not None}


async def send_through_ingest(url: str, write_key: str, chunks: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """Post every event; returns accepted, duplicates and rejections by code, per stream."""
    tally: dict[str, Counter[str]] = {"usage": Counter(), "sessions": Counter(), "feedback": Counter()}
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {write_key}"}) as client:
        for chunk in chunks:
            usage = [segment_message(e) for e in chunk if isinstance(e, UsageEventRecorded)]
            sessions = [session_update(e) for e in chunk if isinstance(e, SessionUpdated)]
            responses = [feedback_response(e) for e in chunk if isinstance(e, FeedbackResponded)]
            for stream, path, field, items in (
                ("usage", "/v1/batch", "batch", usage),
                ("sessions", "/v1/sessions", "sessions", sessions),
                ("feedback", "/v1/feedback", "responses", responses),
            ):
                for start in range(0, len(items), _PER_REQUEST):
                    receipt = await _post(client, path, {field: items[start : start + _PER_REQUEST]})
                    tally[stream]["accepted"] += receipt["accepted"]
                    tally[stream]["duplicates"] += len(receipt["duplicates"])
                    for rejection in receipt["rejected"]:
                        tally[stream][f"rejected:{rejection['code']}"] += 1
    return {stream: dict(counts) for stream, counts in tally.items()}


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    for _ in range(20):
        answer = await client.post(path, json=body)
        if answer.status_code in (429, 503):
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            continue
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
        receipt: dict[str, Any] = answer.json()
        return receipt
    raise RuntimeError(f"{path}: still refused after 20 attempts")
