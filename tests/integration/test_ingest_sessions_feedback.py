"""Ingest's sessions, Sentry envelope and feedback endpoints against the real broker."""

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import brotli

from pulse_common import topics
from pulse_common.events import FeedbackResponded, SessionsAggregated, SessionUpdated
from pulse_common.settings import CommonSettings
from tests.integration.ingest_app import events_on, ingest_client, new_project

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def session(sid: str, status: str = "ok", **fields: Any) -> dict[str, Any]:
    return {
        "sid": sid,
        "did": "user-1",
        "init": True,
        "started": iso(NOW - timedelta(minutes=3)),
        "timestamp": iso(NOW),
        "status": status,
        "errors": 0,
        "duration": 12.5,
        "attrs": {"release": "app@2.3", "environment": "staging"},
        **fields,
    }


async def test_sessions_and_aggregates_are_published(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    body = {
        "writeKey": project.write_key,
        "sessions": [session("s-ok"), session("s-crash", "crashed", errors=2), session("s-anon", did=None)],
        "aggregates": [
            {
                "started": iso(NOW.replace(second=42)),
                "attrs": {"release": "app@2.3"},
                "exited": 10,
                "errored": 2,
                "crashed": 1,
                "abnormal": 0,
            }
        ],
    }
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/sessions", json=body)
        retried = await client.post("/v1/sessions", json={"writeKey": project.write_key, "sessions": [session("s-ok")]})
    assert response.json() == {"success": True, "accepted": 4, "duplicates": [], "rejected": []}
    assert retried.json()["duplicates"] == [{"index": 0, "messageId": "s-ok"}]
    events = await events_on(settings.kafka_bootstrap, topics.SESSIONS, project.project, 4)
    updates = {e.session_id: e for e in events if isinstance(e, SessionUpdated)}
    [aggregate] = [e for e in events if isinstance(e, SessionsAggregated)]
    assert updates["s-crash"].status == "crashed"
    assert updates["s-crash"].errors == 2
    assert (updates["s-ok"].release, updates["s-ok"].environment) == ("app@2.3", "staging")
    assert updates["s-ok"].distinct_id == "user-1"
    assert updates["s-ok"].duration_s == 12.5
    assert updates["s-anon"].distinct_id is None
    assert (aggregate.exited, aggregate.errored, aggregate.crashed, aggregate.abnormal) == (10, 2, 1, 0)
    assert aggregate.started == NOW.replace(second=0)
    assert aggregate.environment == "production"


async def test_bad_sessions_are_rejected_with_their_code(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    body = {
        "writeKey": project.write_key,
        "sessions": [
            session("no-release", attrs={}),
            session("too-old", started=iso(NOW - timedelta(days=6)), timestamp=iso(NOW - timedelta(days=6))),
            session("future", timestamp=iso(NOW + timedelta(days=2))),
            session("bad-status", "errored"),
            session("negative", errors=-1),
            session("fine"),
        ],
        "aggregates": [{"started": iso(NOW), "exited": 1}],
    }
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/sessions", json=body)
    receipt = response.json()
    assert receipt["accepted"] == 1
    assert [(r["index"], r["code"]) for r in receipt["rejected"]] == [
        (0, "missing_release"),
        (1, "timestamp_too_old"),
        (2, "timestamp_in_future"),
        (3, "invalid_session"),
        (4, "invalid_session"),
        (6, "missing_release"),
    ]
    assert "$.status" in receipt["rejected"][3]["message"]
    assert "$.errors" in receipt["rejected"][4]["message"]


def envelope(*items: tuple[dict[str, Any], bytes], header: dict[str, Any] | None = None) -> bytes:
    lines = [json.dumps(header or {"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "sent_at": iso(NOW)}).encode()]
    for item_header, payload in items:
        lines += [json.dumps(item_header).encode(), payload]
    return b"\n".join(lines) + b"\n"


async def test_sentry_envelopes_carry_sessions_by_header_or_query_key(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    one = json.dumps(session("env-1", "exited")).encode()
    aggregates = json.dumps(
        {
            "attrs": {"release": "app@2.4", "environment": "production"},
            "aggregates": [{"started": iso(NOW), "exited": 3, "crashed": 1}],
        }
    ).encode()
    event = json.dumps({"exception": {"values": [{"type": "ZeroDivisionError"}]}}).encode()
    body = envelope(
        ({"type": "event", "length": len(event)}, event),
        ({"type": "session", "length": len(one)}, one),
        ({"type": "sessions"}, aggregates),  # no length: the payload runs to the end of the line
        ({"type": "attachment", "length": 5}, b"a\nb\nc"),
    )
    auth = {
        "X-Sentry-Auth": f"Sentry sentry_key={project.write_key}, sentry_version=7",
        "Content-Type": "application/x-sentry-envelope",
    }
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        by_header = await client.post(
            "/api/1/envelope/", content=brotli.compress(body), headers={**auth, "Content-Encoding": "br"}
        )
        second = envelope(({"type": "session"}, json.dumps(session("env-2")).encode()))
        by_query = await client.post(
            f"/api/7/envelope/?sentry_key={project.write_key}",
            content=gzip.compress(second),
            headers={"Content-Encoding": "gzip"},
        )
        no_key = await client.post("/api/1/envelope/", content=second)
        broken = await client.post("/api/1/envelope/", content=b'{}\n{"type":"session","length":999}\n{}', headers=auth)
    assert by_header.status_code == 200, by_header.text
    assert by_header.json()["accepted"] == 2
    assert by_header.headers["X-Sentry-Event-Id"] == "9ec79c33ec9942ab8353589fcb2e04dc"
    assert by_query.json()["accepted"] == 1
    assert (no_key.status_code, no_key.json()["code"]) == (401, "unauthorized")
    assert (broken.status_code, broken.json()["code"]) == (400, "invalid_envelope")
    events = await events_on(settings.kafka_bootstrap, topics.SESSIONS, project.project, 3)
    assert sorted(e.session_id for e in events if isinstance(e, SessionUpdated)) == ["env-1", "env-2"]
    [aggregate] = [e for e in events if isinstance(e, SessionsAggregated)]
    assert (aggregate.release, aggregate.exited, aggregate.crashed) == ("app@2.4", 3, 1)


async def test_feedback_is_published_and_scales_enforced(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool)
    responses = [
        {
            "messageId": "f1",
            "userId": "ana",
            "kind": "nps",
            "score": 9,
            "comment": " Love the export ",
            "feature": "export",
            "release": "2.3",
            "channel": "in_app",
            "survey": "q4",
            "timestamp": iso(NOW),
        },
        {"messageId": "f2", "anonymousId": "anon", "kind": "csat", "score": 1},
        {"messageId": "f3", "userId": "bo", "kind": "ces", "score": 7},
        {"messageId": "f4", "userId": "bo", "kind": "nps", "score": 11},
        {"messageId": "f5", "userId": "bo", "kind": "csat", "score": 0},
        {"messageId": "f6", "userId": "bo", "kind": "ces", "score": 8},
        {"messageId": "f7", "userId": "bo", "kind": "mood", "score": 3},
        {"messageId": "f8", "userId": "bo", "kind": "nps", "score": 7.5},
        {"messageId": "f9", "kind": "nps", "score": 7},
        {"messageId": "f10", "userId": "bo", "kind": "nps", "score": -1},
    ]
    async with ingest_client(settings.dsn, settings.kafka_bootstrap) as client:
        response = await client.post("/v1/feedback", json={"writeKey": project.write_key, "responses": responses})
    receipt = response.json()
    assert receipt["accepted"] == 3
    assert [(r["messageId"], r["code"]) for r in receipt["rejected"]] == [
        ("f4", "score_out_of_range"),
        ("f5", "score_out_of_range"),
        ("f6", "score_out_of_range"),
        ("f7", "unknown_kind"),
        ("f8", "invalid_response"),
        ("f9", "missing_identity"),
        ("f10", "score_out_of_range"),
    ]
    assert "nps scale 0-10" in receipt["rejected"][0]["message"]
    published = {
        e.message_id: e for e in await events_on(settings.kafka_bootstrap, topics.FEEDBACK, project.project, 3)
    }
    first = published["f1"]
    assert isinstance(first, FeedbackResponded)
    assert (first.kind, first.score, first.comment, first.feature, first.release, first.channel, first.survey) == (
        "nps",
        9,
        "Love the export",
        "export",
        "2.3",
        "in_app",
        "q4",
    )
    assert published["f2"].distinct_id == "anon"
