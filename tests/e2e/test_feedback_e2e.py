"""Feedback end to end: responses, identify traits, feature use and sessions posted through ingest, applied by the
feedback consumer (its own projections of usage and sessions), read from the feedback API and checked against
figures worked out by hand."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import StartService, create_project_with_cli
from tests.helpers import eventually

ZONE = "Europe/Berlin"


def response(message_id: str, user: str, score: int, at: datetime, comment: str | None, **extra: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "userId": user,
        "kind": extra.pop("kind", "nps"),
        "score": score,
        "comment": comment,
        "timestamp": at.isoformat(),
        **extra,
    }


def session(sid: str, user: str, status: str, at: datetime) -> dict[str, Any]:
    return {
        "sid": sid,
        "did": user,
        "init": True,
        "started": (at - timedelta(minutes=5)).isoformat(),
        "timestamp": at.isoformat(),
        "status": status,
        "errors": 0,
        "attrs": {"release": "2.1", "environment": "production"},
    }


async def test_feedback_endpoints_give_the_figures_worked_out_by_hand(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, ZONE)
    ingest = start_service("pulse_ingest")
    api = start_service("pulse_feedback", "api")
    start_service("pulse_feedback", "consumer", http=False, PULSE_TERM_PACK_EVERY_S="0.2")
    now = datetime.now(UTC).replace(microsecond=0)
    hour_ago = now - timedelta(hours=1)
    identifies = [
        {"type": "identify", "userId": user, "traits": {"plan": plan}, "timestamp": hour_ago.isoformat()}
        for user, plan in (("u1", "enterprise"), ("u2", "enterprise"), ("u3", "free"), ("u4", "free"))
    ]
    tracks = [
        {"type": "track", "userId": "u1", "event": "Clicked", "properties": {"feature": "export"}},
        {"type": "track", "userId": "u2", "event": "export", "timestamp": hour_ago.isoformat()},
        {"type": "track", "userId": "u3", "event": "dashboards", "timestamp": hour_ago.isoformat()},
    ]
    tracks[0]["timestamp"] = hour_ago.isoformat()
    # u1 and u3 crashed; u4's crash report came after the session had exited, so it is ignored (Sentry semantics).
    sessions = [
        session("s1", "u1", "crashed", hour_ago),
        session("s2", "u2", "exited", hour_ago),
        session("s3", "u3", "crashed", hour_ago),
        session("s4", "u4", "exited", hour_ago),
        session("s4", "u4", "crashed", hour_ago + timedelta(minutes=1)),
    ]

    def at(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    responses = [
        response("r1", "u1", 2, at(6), "The app crashes when I export large files", feature="export", release="2.0"),
        response("r2", "u2", 10, at(5), "Export is fast and reliable", feature="export", release="2.1"),
        response("r3", "u3", 5, at(4), "Crashes every time and it is slow", feature="dashboards", release="2.0"),
        response("r4", "u4", 9, at(3), "Love the dashboards, fast and clean", feature="dashboards", release="2.1"),
        response("r5", "u5", 8, at(2), None, release="2.1", channel="email"),
        response("r6", "u1", 6, at(1), "Crashes again after the update", release="2.1"),
        response("c1", "u4", 2, at(1), "slow", kind="csat"),
    ]
    write = {"Authorization": f"Bearer {project.write_key}"}
    async with httpx.AsyncClient(base_url=ingest.url, headers=write, timeout=30) as client:
        assert (await client.post("/v1/batch", json={"batch": identifies + tracks})).json()["accepted"] == 7
        assert (await client.post("/v1/sessions", json={"sessions": sessions})).json()["accepted"] == 5
        receipt = (await client.post("/v1/feedback", json={"responses": responses})).json()
        assert receipt["accepted"] == 7, receipt
        # The same messageId again is the same response: it counts once.
        again = (await client.post("/v1/feedback", json={"responses": responses[:1]})).json()
        assert again["duplicates"] == [{"index": 0, "messageId": "r1"}]

    today = datetime.now(ZoneInfo(ZONE)).date()
    window = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    read = {"Authorization": f"Bearer {project.read_key}"}
    base = f"/v1/projects/{project.project}"
    async with httpx.AsyncClient(base_url=api.url, headers=read, timeout=30) as client:

        async def get(path: str, **params: Any) -> dict[str, Any]:
            answer = await client.get(base + path, params={**window, **params})
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body

        async def crash_breakdown() -> dict[str, Any]:
            return await get("/satisfaction/nps/breakdown", by="experience:crash")

        # Everything applied: both sides of the crash experience and a complete as_of.
        await eventually(
            crash_breakdown,
            lambda b: b["as_of"] is not None and sorted(g["n"] for g in b["groups"]) == [3, 3],
            timeout_s=90,
        )
        nps = await get("/satisfaction/nps")
        # scores 2, 10, 5, 9, 8, 6: promoters 2, passives 1, detractors 3 -> 100 * (2 - 3) / 6
        figures = nps["window"]
        assert (figures["n"], figures["promoters"], figures["passives"], figures["detractors"]) == (6, 2, 1, 3)
        assert figures["score"] == pytest.approx(-16.67)
        # 1.96 * 100 * sqrt((1/3 + 1/2 - (1/3 - 1/2)^2) / 6)
        assert figures["margin"] == pytest.approx(71.82, abs=0.01)
        assert figures["mean"] == pytest.approx(40 / 6, abs=0.001)
        assert nps["timezone"] == ZONE
        assert "score" in nps["definitions"]
        assert [p["period"] for p in nps["series"]] == [window["from"], window["to"]]
        assert sum(p["n"] for p in nps["series"]) == 6

        assert (await get("/satisfaction/nps", feature="export"))["window"]["score"] == 0  # 2 and 10
        assert (await get("/satisfaction/nps", release="2.1", channel="email"))["window"]["n"] == 1
        enterprise = (await get("/satisfaction/nps", segment="plan:enterprise"))["window"]
        assert (enterprise["n"], enterprise["score"]) == (3, pytest.approx(-33.33))  # u1: 2, 6; u2: 10
        csat = (await get("/satisfaction/csat"))["window"]
        assert (csat["n"], csat["satisfied"], csat["score"], csat["low"]) == (1, 0, 0.0, 0.0)

        def groups(body: dict[str, Any]) -> dict[Any, tuple[int, float, bool]]:
            return {g["group"]: (g["n"], g["score"], g["small"]) for g in body["groups"]}

        crash = groups(await crash_breakdown())
        assert crash == {"crashed": (3, -100.0, True), "not_crashed": (3, pytest.approx(66.67), True)}
        adopted = groups(await get("/satisfaction/nps/breakdown", by="experience:adopted:export"))
        assert adopted == {"adopters": (3, pytest.approx(-33.33), True), "non_adopters": (3, 0.0, True)}
        by_release = groups(await get("/satisfaction/nps/breakdown", by="release", min_n=3))
        assert by_release == {"2.1": (4, 25.0, False), "2.0": (2, -100.0, True)}
        by_plan = await get("/satisfaction/nps/breakdown", by="trait:plan")
        assert [g["group"] for g in by_plan["groups"]] == ["enterprise", "free", None]  # largest first
        bad = await client.get(base + "/satisfaction/nps/breakdown", params={"by": "colour"})
        assert bad.status_code == 400
        assert bad.json()["message"].startswith("by:")

        found = await get("/responses", q="crash")
        # "crashes" and "Crashes" stem to the search's "crash"; newest first.
        assert [r["comment"] for r in found["responses"]] == [
            responses[5]["comment"],
            responses[2]["comment"],
            responses[0]["comment"],
        ]
        assert found["responses"][0]["traits"] == {"plan": "enterprise"}
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = await get("/responses", kind="nps", limit=2, **({"cursor": cursor} if cursor else {}))
            seen += [r["comment"] for r in page["responses"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        commented = [r for r in responses if r["comment"] and r["kind"] == "nps"]
        assert seen == [r["comment"] for r in reversed(commented)]  # newest first, no gap, no repeat

        # The consumer's term packer has packed every day with comments: themes below read packed days.
        async def unpacked_and_packed() -> tuple[int, int]:
            conn = await asyncpg.connect(database_url)
            try:
                return (
                    await conn.fetchval("SELECT count(*) FROM feedback.term_days_changed WHERE project = $1", name),
                    await conn.fetchval("SELECT count(*) FROM feedback.term_day_vectors WHERE project = $1", name),
                )
            finally:
                await conn.close()

        name = project.project
        await eventually(unpacked_and_packed, lambda counts: counts[0] == 0 and counts[1] > 0)
        themes = await get("/satisfaction/nps/themes", min_count=2)
        assert themes["detractors"][0]["term"] == "crash"
        assert themes["detractors"][0]["detractors"] == 3
        assert len(themes["detractors"][0]["examples"]) == 2
        assert themes["promoters"][0]["term"] == "fast"
        csv = await client.get(
            base + "/satisfaction/nps/breakdown", params={**window, "by": "feature", "format": "csv"}
        )
        assert csv.text.splitlines()[0].startswith("group,n,promoters")
