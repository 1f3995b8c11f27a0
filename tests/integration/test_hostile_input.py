"""A catalogue of hostile input to ingest, each with the status and code it gets, and proof that the good events
of the same request were published: malformed and deeply nested JSON, invalid UTF-8, wrong types, 10 MB bodies,
gzip bombs, NaN and huge numbers, NUL and control characters, SQL-looking strings, unknown fields, scores out of
scale, and timestamps far away."""

from __future__ import annotations

import gzip
import json
from typing import Any

import asyncpg
import pytest

from pulse_common import topics
from pulse_common.settings import CommonSettings
from tests.integration.ingest_app import events_on, ingest_client, new_project

GOOD = {"type": "track", "userId": "u1", "event": "Opened"}


def track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u2", "event": "Clicked", **fields}


def batch(*messages: dict[str, Any]) -> bytes:
    return json.dumps({"batch": [GOOD, *messages]}).encode()


# (case, body, status, request-level code or the per-event rejection codes after the good event)
REQUEST_REFUSED: list[tuple[str, bytes, int, str]] = [
    ("invalid JSON", b'{"batch": [', 400, "invalid_body"),
    ("wrong type", json.dumps({"batch": "nope"}).encode(), 400, "invalid_body"),
    (
        "NaN literal",
        b'{"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"x": NaN}}]}',
        400,
        "invalid_body",
    ),
    (
        "nested 5,000 deep",
        b'{"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"x": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}}]}",
        400,
        "invalid_body",
    ),
    ("10 MB body", json.dumps({"batch": [GOOD], "pad": "x" * 10_000_000}).encode(), 413, "request_too_large"),
]
EVENT_REJECTED: list[tuple[str, bytes, list[str]]] = [
    (
        "invalid UTF-8",
        b'{"batch": [' + json.dumps(GOOD).encode() + b', {"type": "track", "userId": "\xff\xfe", "event": "x"}]}',
        ["invalid_event"],
    ),
    (
        "huge number",
        b'{"batch": ['
        + json.dumps(GOOD).encode()
        + b', {"type": "track", "userId": "u", "event": "e", "properties": {"x": 1e400}}]}',
        ["invalid_event"],
    ),
    ("NUL in the event name", batch(track(event="Op\u0000ened")), ["invalid_text"]),
    ("NUL in a property", batch(track(properties={"k": "a\u0000b"})), ["invalid_text"]),
    ("NUL in the user id", batch(track(userId="u\u0000")), ["invalid_text"]),
    ("timestamp in 1970", batch(track(timestamp="1970-01-01T00:00:00Z")), ["timestamp_too_old"]),
    ("timestamp in 2999", batch(track(timestamp="2999-01-01T00:00:00Z")), ["timestamp_in_future"]),
    ("timestamp not a date", batch(track(timestamp="yesterday")), ["invalid_event"]),
    ("a 40 KB user id", batch(track(userId="u" * 40_000)), ["event_too_large"]),
    ("no event name", batch({"type": "track", "userId": "u"}), ["missing_event"]),
]
EVENT_ACCEPTED: list[tuple[str, bytes]] = [
    ("control characters", batch(track(userId="u\u0007", event="x\u001b"))),
    ("SQL-looking strings", batch(track(userId="'; DROP TABLE control.projects;--", event="x') OR 1=1"))),
    ("unknown fields", json.dumps({"batch": [{**GOOD, "bogus": {"a": 1}}, track(extra=[1, 2])], "extra": 1}).encode()),
]


@pytest.fixture
async def write_headers(pool: asyncpg.Pool) -> dict[str, str]:
    project = await new_project(pool)
    return {
        "Authorization": f"Bearer {project.write_key}",
        "Content-Type": "application/json",
        "X-Project": project.project,
    }


async def test_request_level_refusals_name_the_problem(settings: CommonSettings, write_headers: dict[str, str]) -> None:
    async with ingest_client(settings.database_url, settings.kafka_bootstrap) as client:
        for case, body, status, code in REQUEST_REFUSED:
            answer = await client.post("/v1/batch", content=body, headers=write_headers)
            assert (answer.status_code, answer.json()["code"]) == (status, code), (case, answer.text)
        bomb = gzip.compress(b"0" * 20_000_000)  # 20 MB inflating from ~20 KB
        assert len(bomb) < 50_000
        answer = await client.post("/v1/batch", content=bomb, headers={**write_headers, "Content-Encoding": "gzip"})
        assert (answer.status_code, answer.json()["code"]) == (413, "request_too_large")


async def test_bad_events_are_refused_alone_and_their_good_neighbours_are_published(
    settings: CommonSettings, write_headers: dict[str, str]
) -> None:
    project = write_headers["X-Project"]
    expected_published = 0
    async with ingest_client(settings.database_url, settings.kafka_bootstrap) as client:
        for case, body in [(c, b) for c, b, _ in EVENT_REJECTED] + EVENT_ACCEPTED:
            answer = await client.post("/v1/batch", content=body, headers=write_headers)
            assert answer.status_code == 200, (case, answer.text)
            receipt = answer.json()
            rejected = {c: codes for c, _, codes in EVENT_REJECTED}.get(case, [])
            assert [r["code"] for r in receipt["rejected"]] == rejected, (case, receipt)
            assert receipt["accepted"] == (1 if rejected else 2), (case, receipt)  # the good neighbour, always
            expected_published += receipt["accepted"]
    published = await events_on(settings.kafka_bootstrap, topics.USAGE, project, expected_published)
    assert len(published) == expected_published
    assert sum(1 for e in published if e.name == "Opened") == len(EVENT_REJECTED) + len(EVENT_ACCEPTED)
    assert not any("\x00" in json.dumps(e.properties or {}) or "\x00" in (e.name or "") for e in published)


async def test_feedback_scores_out_of_scale_or_of_the_wrong_type_are_refused(
    settings: CommonSettings, write_headers: dict[str, str]
) -> None:
    responses = [
        {"messageId": "ok", "userId": "u", "kind": "nps", "score": 9},
        {"messageId": "negative", "userId": "u", "kind": "nps", "score": -1},
        {"messageId": "enormous", "userId": "u", "kind": "nps", "score": 10**12},
        {"messageId": "fraction", "userId": "u", "kind": "csat", "score": 4.5},
        {"messageId": "unknown kind", "userId": "u", "kind": "nope", "score": 3},
        {"messageId": "string", "userId": "u", "kind": "ces", "score": "7"},
        {"messageId": "nul comment", "userId": "u", "kind": "nps", "score": 9, "comment": "ok\u0000no"},
        {"messageId": "boolean", "userId": "u", "kind": "nps", "score": True},
    ]
    async with ingest_client(settings.database_url, settings.kafka_bootstrap) as client:
        answer = await client.post("/v1/feedback", json={"responses": responses}, headers=write_headers)
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["accepted"] == 1
    codes = {r["messageId"]: r["code"] for r in receipt["rejected"]}
    assert codes["negative"] == "score_out_of_range"
    assert codes["nul comment"] == "invalid_text"
    assert set(codes) == {r["messageId"] for r in responses} - {"ok"}
