"""Ingest's Segment API against the real broker: what is published, and the receipt per event."""

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import brotli
import pytest

from pulse_common import topics
from pulse_common.events import DeadLetter, UsageEventRecorded
from pulse_common.identity import event_id_for
from pulse_common.settings import CommonSettings
from tests.integration.ingest_app import events_on, ingest_client, new_project

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def track(message_id: str, user: str = "ana", **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": user,
        "event": "Report Exported",
        "messageId": message_id,
        "timestamp": iso(NOW),
        **fields,
    }


async def test_a_batch_is_published_with_every_field_and_answered_with_a_receipt(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    batch = [
        track("t1", properties={"feature": "export", "rows": 3}, context={"ip": "203.0.113.9"}),
        {"type": "identify", "userId": "ana", "traits": {"plan": "pro"}, "messageId": "i1"},
        {"type": "page", "anonymousId": "anon-7", "userId": None, "name": "Pricing", "messageId": "p1"},
        {"type": "screen", "userId": 42, "name": "Settings", "messageId": "s1"},
        {"type": "group", "userId": "ana", "groupId": "acme-inc", "messageId": "g1"},
        {"type": "alias", "userId": "ana", "previousId": "anon-7", "messageId": "a1"},
    ]
    body = {
        "batch": batch,
        "writeKey": project.write_key,
        "context": {"library": {"name": "x"}, "ip": "batch"},
        "integrations": {"All": False},
    }
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/batch", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "accepted": 6, "duplicates": [], "rejected": []}

    events = {e.message_id: e for e in await events_on(settings.kafka_bootstrap, topics.USAGE, project.project, 6)}
    assert set(events) == {"t1", "i1", "p1", "s1", "g1", "a1"}
    tracked = events["t1"]
    assert isinstance(tracked, UsageEventRecorded)
    assert (tracked.type, tracked.name, tracked.distinct_id, tracked.user_id) == (
        "track",
        "Report Exported",
        "ana",
        "ana",
    )
    assert tracked.properties == {"feature": "export", "rows": 3}
    assert tracked.context == {"library": {"name": "x"}, "ip": "203.0.113.9"}  # the event's own keys win
    assert tracked.integrations == {"All": False}
    assert tracked.event_id == event_id_for(project.project, "t1")
    assert tracked.timestamp == NOW
    assert events["i1"].traits == {"plan": "pro"}
    assert (events["p1"].distinct_id, events["p1"].anonymous_id, events["p1"].name) == ("anon-7", "anon-7", "Pricing")
    assert (events["s1"].distinct_id, events["s1"].name) == ("42", "Settings")
    assert events["g1"].group_id == "acme-inc"
    assert events["a1"].previous_id == "anon-7"


@pytest.mark.parametrize("call", ["track", "identify", "page", "screen", "group", "alias"])
async def test_single_calls_take_their_type_from_the_path(
    settings: CommonSettings, pool: asyncpg.Pool, call: str
) -> None:
    project = await new_project(pool)
    message = {
        "userId": "bo",
        "messageId": f"single-{call}",
        "event": "Clicked",
        "name": "Home",
        "groupId": "g",
        "previousId": "old",
        "writeKey": project.write_key,
    }
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post(f"/v1/{call}", json=message)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    [event] = await events_on(settings.kafka_bootstrap, topics.USAGE, project.project, 1)
    assert event.type == call


BAD_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"type": "track", "event": "x", "messageId": "no-id"}, "missing_identity"),
    ({"type": "track", "userId": "u", "messageId": "no-name"}, "missing_event"),
    ({"type": "alias", "userId": "u", "messageId": "no-prev"}, "missing_previous_id"),
    ({"type": "group", "userId": "u", "messageId": "no-group"}, "missing_group_id"),
    ({"type": "track", "userId": "u", "event": "x", "properties": 5, "messageId": "bad-type"}, "invalid_event"),
    ({"type": "unknown", "userId": "u", "messageId": "bad-kind"}, "invalid_event"),
    (track("future", timestamp=iso(NOW + timedelta(days=2))), "timestamp_in_future"),
    (track("old", timestamp=iso(NOW - timedelta(days=31))), "timestamp_too_old"),
    (track("huge", properties={"blob": "x" * 33_000}), "event_too_large"),
]


async def test_each_bad_event_is_rejected_with_its_code_and_its_good_neighbours_are_kept(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    batch: list[Any] = [track("good-0")]
    for bad, _ in BAD_EVENTS:
        batch += [bad]
    batch += ["not an object", track("good-1")]
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/batch", json={"writeKey": project.write_key, "batch": batch})
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["accepted"] == 2
    expected = [(i + 1, bad["messageId"], code) for i, (bad, code) in enumerate(BAD_EVENTS)]
    expected.append((len(BAD_EVENTS) + 1, None, "invalid_event"))
    assert [(r["index"], r["messageId"], r["code"]) for r in receipt["rejected"]] == expected
    messages = {r["code"]: r["message"] for r in receipt["rejected"]}
    assert "$.properties" in messages["invalid_event"] or "`object`" in messages["invalid_event"]
    published = await events_on(settings.kafka_bootstrap, topics.USAGE, project.project, 2)
    assert sorted(e.message_id for e in published) == ["good-0", "good-1"]

    letters: list[DeadLetter] = await events_on(
        settings.kafka_bootstrap, topics.DEADLETTER, project.project, len(expected)
    )
    assert sorted((letter.message_id or "", letter.code) for letter in letters) == sorted(
        (message_id or "", code) for _, message_id, code in expected
    )
    assert all(letter.origin == "ingest" and letter.stream == "usage" for letter in letters)
    assert any(b'"blob"' in letter.payload for letter in letters if letter.code == "event_too_large")


async def test_a_refused_message_of_a_well_formed_batch_is_dead_lettered_as_sent(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    # Every message decodes, so the batch is built from one typed pass; the refused one's bytes are its own.
    project = await new_project(pool)
    refused = b'{"type":"track","event":"x",  "messageId":"no-id","properties":{"n":1.50}}'
    body = b'{"writeKey":"%s","batch":[%s,%s]}' % (
        project.write_key.encode(),
        json.dumps(track("kept")).encode(),
        refused,
    )
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/batch", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert (receipt["accepted"], [(r["index"], r["code"]) for r in receipt["rejected"]]) == (
        1,
        [(1, "missing_identity")],
    )
    [letter] = await events_on(settings.kafka_bootstrap, topics.DEADLETTER, project.project, 1)
    assert (letter.code, letter.payload) == ("missing_identity", refused)


async def test_in_a_large_well_formed_batch_only_the_oversized_message_is_refused(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    batch = [track(f"fits-{i}", properties={"pad": "y" * 20_000}) for i in range(3)]
    batch.insert(1, track("over", properties={"pad": "z" * 33_000}))
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/batch", json={"writeKey": project.write_key, "batch": batch})
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["accepted"] == 3
    assert [(r["index"], r["messageId"], r["code"]) for r in receipt["rejected"]] == [(1, "over", "event_too_large")]
    published = await events_on(settings.kafka_bootstrap, topics.USAGE, project.project, 3)
    assert sorted(e.message_id for e in published) == ["fits-0", "fits-1", "fits-2"]


async def test_duplicates_within_a_request_and_of_recent_requests_are_reported_not_published(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        first = await client.post(
            "/v1/batch", json={"writeKey": project.write_key, "batch": [track("d1"), track("d2"), track("d1")]}
        )
        retry = await client.post(
            "/v1/batch", json={"writeKey": project.write_key, "batch": [track("d2"), track("d3")]}
        )
    assert first.json()["accepted"] == 2
    assert first.json()["duplicates"] == [{"index": 2, "messageId": "d1"}]
    assert retry.json()["accepted"] == 1
    assert retry.json()["duplicates"] == [{"index": 0, "messageId": "d2"}]
    published = await events_on(settings.kafka_bootstrap, topics.USAGE, project.project, 3)
    assert sorted(e.message_id for e in published) == ["d1", "d2", "d3"]


async def test_clock_drift_is_corrected_and_small_drift_kept(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    now = datetime.now(UTC).replace(microsecond=0)
    skewed_clock = now + timedelta(hours=2)  # the device's clock runs two hours ahead
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        skewed = await client.post(
            "/v1/batch",
            json={
                "writeKey": project.write_key,
                "sentAt": iso(skewed_clock),
                "batch": [track("skewed", timestamp=iso(skewed_clock - timedelta(minutes=5)))],
            },
        )
        fine = await client.post(
            "/v1/batch",
            json={
                "writeKey": project.write_key,
                "sentAt": iso(datetime.now(UTC) + timedelta(seconds=5)),
                "batch": [track("fine", timestamp=iso(now - timedelta(minutes=5)))],
            },
        )
    assert skewed.json()["accepted"] == fine.json()["accepted"] == 1
    events = {e.message_id: e for e in await events_on(settings.kafka_bootstrap, topics.USAGE, project.project, 2)}
    corrected = events["skewed"]
    assert corrected.original_timestamp == skewed_clock - timedelta(minutes=5)
    assert abs(corrected.timestamp - (now - timedelta(minutes=5))) < timedelta(seconds=30)
    assert events["fine"].timestamp == events["fine"].original_timestamp == now - timedelta(minutes=5)


async def test_write_key_in_body_basic_or_bearer_and_bad_keys_refused(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    basic = base64.b64encode(f"{project.write_key}:".encode()).decode()
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        ok = [
            await client.post("/v1/batch", json={"writeKey": project.write_key, "batch": [track("k1")]}),
            await client.post("/v1/batch", json={"batch": [track("k2")]}, headers={"Authorization": f"Basic {basic}"}),
            await client.post(
                "/v1/batch", json={"batch": [track("k3")]}, headers={"Authorization": f"Bearer {project.write_key}"}
            ),
        ]
        refused = [
            await client.post("/v1/batch", json={"batch": [track("k4")]}),
            await client.post("/v1/batch", json={"writeKey": "pk_write_unknown", "batch": [track("k5")]}),
            await client.post("/v1/batch", json={"writeKey": project.read_key, "batch": [track("k6")]}),
            await client.post("/v1/batch", json={"batch": [track("k7")]}, headers={"Authorization": "Basic !!"}),
        ]
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(401, "unauthorized")] * 4


async def test_gzip_and_brotli_bodies_are_accepted(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    payload = json.dumps({"writeKey": project.write_key, "batch": [track("z1")]}).encode()
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        zipped = await client.post(
            "/v1/batch",
            content=gzip.compress(payload),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        payload = payload.replace(b"z1", b"z2")
        broken = await client.post(
            "/v1/batch",
            content=brotli.compress(payload),
            headers={"Content-Encoding": "br", "Content-Type": "application/json"},
        )
        truncated = await client.post(
            "/v1/batch", content=gzip.compress(payload)[:20], headers={"Content-Encoding": "gzip"}
        )
    assert zipped.json()["accepted"] == 1
    assert broken.json()["accepted"] == 1
    assert (truncated.status_code, truncated.json()["code"]) == (400, "invalid_encoding")


def _batch_of_size(write_key: str, size: int) -> bytes:
    """A valid batch body of exactly ``size`` bytes."""
    body = {"writeKey": write_key, "batch": [track("pad", properties={"pad": ""})]}
    base = len(json.dumps(body).encode())
    events, remaining = [], size - base
    filler = 20_000
    index = 0
    while remaining > 0:
        pad = min(filler, remaining)
        events.append(track(f"pad-{index}", properties={"pad": "x" * pad}))
        index += 1
        remaining = size - len(json.dumps({"writeKey": write_key, "batch": events}).encode())
        if remaining < 0:
            events[-1]["properties"]["pad"] = "x" * (pad + remaining)
            break
    encoded = json.dumps({"writeKey": write_key, "batch": events}).encode()
    assert len(encoded) == size, (len(encoded), size)
    return encoded


async def test_request_and_event_limits_at_and_over_the_edge(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    limit = 500 * 1024
    at_limit = _batch_of_size(project.write_key, limit)
    over_limit = _batch_of_size(project.write_key, limit + 1)
    pad = 32 * 1024 - len(json.dumps(track("e-at", properties={"p": ""})).encode())
    exact_event = track("e-at", properties={"p": "x" * pad})
    one_over_event = track("e-over", properties={"p": "x" * (pad + 1 - 2)})  # "e-over" is 2 bytes longer
    assert len(json.dumps(exact_event).encode()) == 32 * 1024
    assert len(json.dumps(one_over_event).encode()) == 32 * 1024 + 1
    headers = {"Content-Type": "application/json"}
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        ok = await client.post("/v1/batch", content=at_limit, headers=headers)
        too_big = await client.post("/v1/batch", content=over_limit, headers=headers)
        bomb = await client.post(
            "/v1/batch", content=gzip.compress(over_limit), headers={**headers, "Content-Encoding": "gzip"}
        )
        # Sent as serialized here, so each event's bytes on the wire are what was measured above.
        events = await client.post(
            "/v1/batch",
            content=json.dumps({"writeKey": project.write_key, "batch": [exact_event, one_over_event]}),
            headers=headers,
        )
        full = await client.post(
            "/v1/batch", json={"writeKey": project.write_key, "batch": [track(f"n{i}") for i in range(2500)]}
        )
        too_many = await client.post(
            "/v1/batch", json={"writeKey": project.write_key, "batch": [track(f"m{i}") for i in range(2501)]}
        )
    assert ok.status_code == 200, ok.text[:300]
    assert ok.json()["rejected"] == []
    assert (too_big.status_code, too_big.json()["code"]) == (413, "request_too_large")
    assert (bomb.status_code, bomb.json()["code"]) == (413, "request_too_large")
    assert events.json()["accepted"] == 1
    assert [(r["messageId"], r["code"]) for r in events.json()["rejected"]] == [("e-over", "event_too_large")]
    assert full.json()["accepted"] == 2500
    assert (too_many.status_code, too_many.json()["code"]) == (400, "too_many_events")


async def test_malformed_requests_get_request_level_errors(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        not_json = await client.post("/v1/batch", content=b"{nope", headers={"Content-Type": "application/json"})
        no_batch = await client.post("/v1/batch", json={"writeKey": project.write_key})
        xml = await client.post("/v1/batch", content=b"<batch/>", headers={"Content-Type": "application/xml"})
        deflate = await client.post("/v1/batch", content=b"x", headers={"Content-Encoding": "compress"})
        beacon = await client.post(
            "/v1/batch",
            content=json.dumps({"writeKey": project.write_key, "batch": [track("b1")]}),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
        )
    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_body")
    assert (no_batch.status_code, no_batch.json()["code"]) == (400, "invalid_body")
    assert "batch" in no_batch.json()["message"]
    assert (xml.status_code, xml.json()["code"]) == (415, "unsupported_media_type")
    assert (deflate.status_code, deflate.json()["code"]) == (415, "unsupported_encoding")
    assert beacon.status_code == 200
    assert beacon.json()["accepted"] == 1


async def test_rate_limit_answers_429_with_retry_after(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project, other = await new_project(pool), await new_project(pool)
    async with ingest_client(
        settings.dsn, settings.kafka_bootstrap, rate_limit_events_per_s=1, rate_limit_burst=5
    ) as client:
        first = await client.post(
            "/v1/batch", json={"writeKey": project.write_key, "batch": [track(f"r{i}") for i in range(5)]}
        )
        limited = await client.post("/v1/batch", json={"writeKey": project.write_key, "batch": [track("r5")]})
        neighbour = await client.post("/v1/batch", json={"writeKey": other.write_key, "batch": [track("r6")]})
    assert first.status_code == 200
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    assert neighbour.status_code == 200  # one key's limit never throttles another


async def test_cors_lets_browser_sdks_post(settings: CommonSettings) -> None:
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        preflight = await client.options(
            "/v1/batch",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,authorization",
            },
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://app.example.com")
