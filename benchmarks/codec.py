"""Codec benchmark: typed msgspec decoding straight from bytes vs the dict-then-validate path (json + pydantic).

Run with ``make bench``. Prints a table and writes ``benchmarks/results/codec.json``.
"""

import json
import platform
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pydantic

from pulse_common import codec
from pulse_common.events import UsageEventRecorded, UsageStreamEvent


class PydanticUsageEvent(pydantic.BaseModel):
    """The same fields as UsageEventRecorded, the way a FastAPI model would declare them."""

    event_type: str
    schema_version: int
    event_id: uuid.UUID
    project: str
    received_at: datetime
    type: str
    name: str | None = None
    message_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    distinct_id: str
    timestamp: datetime
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    properties: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    context: dict[str, Any] = {}
    group_id: str | None = None
    previous_id: str | None = None


def sample_event(i: int) -> bytes:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    return codec.encode(
        UsageEventRecorded(
            event_id=uuid.uuid4(),
            project="acme",
            received_at=now,
            type="track",
            name="Report Exported",
            message_id=f"m-{i}",
            user_id=f"user-{i % 1000}",
            distinct_id=f"user-{i % 1000}",
            timestamp=now,
            original_timestamp=now,
            properties={"feature": "reports", "format": "csv", "rows": i},
            context={"library": {"name": "analytics-python", "version": "2.3.0"}, "ip": "203.0.113.9"},
        )
    )


def per_second(fn: Callable[[bytes], object], payloads: list[bytes], seconds: float = 1.0) -> float:
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for payload in payloads:
            fn(payload)
        done += len(payloads)
    return done / (time.perf_counter() - start)


def main() -> None:
    payloads = [sample_event(i) for i in range(1000)]
    typed = codec.decoder_for(UsageStreamEvent)
    pydantic_adapter = pydantic.TypeAdapter(PydanticUsageEvent)
    cases: dict[str, Callable[[bytes], object]] = {
        "msgspec typed decode (Pulse)": typed,
        "json.loads + pydantic validate": lambda b: pydantic_adapter.validate_python(json.loads(b)),
        "pydantic validate_json": pydantic_adapter.validate_json,
        "json.loads only (no validation)": json.loads,
    }
    results = {name: per_second(fn, payloads) for name, fn in cases.items()}
    baseline = results["json.loads + pydantic validate"]
    print(f"codec: decoding one usage event ({len(payloads[0])} bytes) on {platform.processor() or platform.machine()}")
    print(f"{'decoder':36} {'events/s':>12} {'vs dict-then-validate':>22}")
    for name, rate in results.items():
        print(f"{name:36} {rate:12,.0f} {rate / baseline:21.1f}x")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "codec.json").write_text(
        json.dumps({"machine": platform.platform(), "events_per_second": results}, indent=2) + "\n"
    )
    assert msgspec.json.decode(payloads[0])  # the payloads are valid JSON


if __name__ == "__main__":
    main()
