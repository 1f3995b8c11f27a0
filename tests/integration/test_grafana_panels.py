"""Every SQL panel and variable query of every dashboard, run as a Grafana database role on data that went through
the real pipeline, returns what the read APIs say; and the role sees nothing else."""

from __future__ import annotations

import random
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded
from pulse_common.grafana import access
from pulse_common.grafana.__main__ import dashboards
from pulse_common.grafana.model import ALL
from pulse_common.settings import CommonSettings
from pulse_feedback.app import create_app as feedback_app
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_feedback.settings import FeedbackSettings
from pulse_metrics.projections.adoption import AdoptionProjection
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from tests.grafana_sql import expand, sql_queries
from tests.helpers import create_topic, produce_events
from tests.integration.harness import metrics_api, running, wait_applied
from tests.integration.ingest_app import new_project

DAYS = 14
FEATURES = ("export", "search", "share")


def history(project: str, today: date, seed: int = 5) -> tuple[list[Any], list[Any], list[Any]]:
    """Usage, sessions and feedback of 30 users over the 14 local (UTC) days before today and today."""
    rng = random.Random(seed)
    users = [f"u{i}" for i in range(30)]
    first = today - timedelta(days=DAYS - 1)
    now = datetime.now(UTC)

    def during(day: date) -> datetime:
        at = datetime.combine(day, time(), UTC) + timedelta(seconds=rng.random() * 86_399)
        return min(at, now - timedelta(minutes=5))

    usage: list[Any] = []
    for user in users:
        joined = first + timedelta(days=rng.randrange(0, DAYS))
        usage.append(
            UsageEventRecorded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=now,
                type="identify",
                distinct_id=user,
                user_id=user,
                timestamp=datetime.combine(joined, time(), UTC),
                traits={"plan": rng.choice(("free", "pro"))},
            )
        )
        for offset in range((today - joined).days + 1):
            if rng.random() < 0.5:
                at = during(joined + timedelta(days=offset))
                usage.append(
                    UsageEventRecorded(
                        event_id=uuid.uuid4(),
                        project=project,
                        received_at=now,
                        type="track",
                        name="Used",
                        distinct_id=user,
                        user_id=user,
                        timestamp=at,
                        properties={"feature": rng.choice(FEATURES)},
                    )
                )
    sessions: list[Any] = []
    for s in range(120):
        day = first + timedelta(days=rng.randrange(0, DAYS))
        started = during(day)
        release = "2.0" if day >= today - timedelta(days=5) and rng.random() < 0.8 else "1.0"
        final = rng.choice(("exited", "exited", "crashed", "abnormal"))
        errors = rng.choice((0, 0, 1))
        for status, at in (("ok", started), (final, started + timedelta(minutes=2))):
            sessions.append(
                SessionUpdated(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=now,
                    session_id=f"s{s}",
                    distinct_id=rng.choice(users),
                    init=status == "ok",
                    started=started,
                    timestamp=min(at, now),
                    status=status,
                    errors=errors,
                    release=release,  # type: ignore[arg-type]
                    environment=rng.choice(("production", "production", "staging")),
                )
            )
    responses: list[Any] = []
    words = ("slow", "crash", "love", "fast", "export", "easy", "sync", "fails")
    for i in range(200):
        kind = rng.choice(("nps", "nps", "csat", "ces"))
        low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind]
        at = during(first + timedelta(days=rng.randrange(0, DAYS)))
        responses.append(
            FeedbackResponded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=now,
                message_id=f"r{i}",
                distinct_id=rng.choice(users),
                kind=kind,
                score=rng.randint(low, high),  # type: ignore[arg-type]
                comment=" ".join(rng.choices(words, k=3)) if rng.random() < 0.6 else None,
                feature=rng.choice((*FEATURES, None)),
                release=rng.choice(("1.0", "2.0", None)),
                channel="in_app",
                survey=None,
                timestamp=at,
            )
        )
    return usage, sessions, responses


class Panels:
    """Runs a dashboard's SQL as the Grafana role over a time range, with variables chosen like a PM would."""

    def __init__(self, conn: asyncpg.Connection, start: datetime, end: datetime) -> None:
        self.conn = conn
        self.start = start
        self.end = end
        self.by_title: dict[str, dict[str, Any]] = {}
        for dashboard in dashboards().values():
            for panel in dashboard["panels"]:
                self.by_title[panel["title"]] = panel

    async def run(self, sql: str, variables: dict[str, str]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.conn.fetch(expand(sql, self.start, self.end, variables))
        return rows

    async def panel(self, title: str, **variables: str) -> list[dict[str, Any]]:
        (target,) = self.by_title[title]["targets"]
        return [dict(r) for r in await self.run(target["rawSql"], variables)]


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


async def test_every_sql_panel_and_variable_answers_what_the_apis_say(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool, timezone="UTC")
    hidden = await new_project(pool, timezone="UTC")  # data of another customer: never shown to the role
    today = datetime.now(UTC).date()
    first = today - timedelta(days=DAYS - 1)
    usage, sessions, responses = history(project.project, today)
    other_usage, other_sessions, other_responses = history(hidden.project, today, seed=6)
    topics = {name: await create_topic(settings.kafka_bootstrap, partitions=2) for name in ("usage", "sess", "fb")}
    projections = [
        ("usage", "g-adoption", AdoptionProjection),
        ("usage", "g-context", UsageContextProjection),
        ("sess", "g-releases", ReleaseHealthProjection),
        ("sess", "g-crashes", CrashesProjection),
        ("fb", "g-satisfaction", SatisfactionProjection),
    ]
    role = f"grafana_{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as stack:
        for topic, group, projection in projections:
            await stack.enter_async_context(
                running(settings, pool, topics[topic], group=group, projection=projection(pool, topic=topics[topic]))
            )
        await produce_events(settings.kafka_bootstrap, topics["usage"], usage + other_usage)
        await produce_events(settings.kafka_bootstrap, topics["sess"], sessions + other_sessions)
        await produce_events(settings.kafka_bootstrap, topics["fb"], responses + other_responses)
        counts = {"usage": len(usage + other_usage), "sess": len(sessions + other_sessions)}
        counts["fb"] = len(responses + other_responses)
        for topic, _, projection in projections:
            await wait_applied(pool, projection.name, topics[topic], counts[topic])

        async with pool.acquire() as conn:
            await access.grant(conn, role, [project.project], create=True)
        grafana = await asyncpg.connect(settings.dsn.replace("postgres@", f"{role}@", 1))
        stack.push_async_callback(grafana.close)
        stack.push_async_callback(pool.execute, f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')
        start = datetime.combine(first, time(), UTC)
        end = datetime.combine(today, time(23, 59, 59), UTC)
        panels = Panels(grafana, start, end)

        # The role reads the grafana views and no table; its views hold its project's rows only.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await grafana.fetch("SELECT 1 FROM feedback.responses LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await grafana.fetch("SELECT 1 FROM control.api_keys LIMIT 1")
        for view in await pool.fetch("SELECT table_name FROM information_schema.views WHERE table_schema = 'grafana'"):
            projects = await grafana.fetch(f"SELECT DISTINCT project FROM grafana.{view['table_name']}")
            assert {r["project"] for r in projects} <= {project.project}, view["table_name"]

        # Every query of every dashboard runs, with each value its variables offer.
        variables = {"project": project.project, "trait": "plan", "interval": "day", "environment": "production"}
        for name, dashboard in dashboards().items():
            for what, fmt, sql in sql_queries(dashboard):
                for feature in (ALL, "export"):
                    for release in (ALL, "2.0"):
                        rows = await panels.run(sql, {**variables, "feature": feature, "release": release})
                        if fmt == "time_series" and rows:
                            assert next(iter(rows[0].keys())) == "time", (name, what)
        offered = {
            v["name"]: [r[0] for r in await panels.run(v["query"], variables)]
            for d in dashboards().values()
            for v in d["templating"]["list"]
            if v["type"] == "query"
        }
        assert offered["project"] == [project.project]
        assert offered["environment"] == ["production", "staging"]
        assert set(offered["feature"]) == set(FEATURES)
        assert offered["trait"] == ["plan"]

        feedback = feedback_app(
            FeedbackSettings(database_url=settings.database_url, kafka_bootstrap=settings.kafka_bootstrap)
        )
        await stack.enter_async_context(feedback.router.lifespan_context(feedback))
        read = {"Authorization": f"Bearer {project.read_key}"}
        fb = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=feedback), base_url="http://fb", headers=read)
        )
        metrics = await stack.enter_async_context(metrics_api(settings))
        window = {"from": first.isoformat(), "to": today.isoformat()}
        await compare(panels, variables, fb, metrics, read, project.project, window)


async def get(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    answer = await client.get(path, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def close(panel_value: float | None, api_value: float | None, places: int = 2) -> bool:
    """The API rounds what it prints; the panel does not."""
    if panel_value is None or api_value is None:
        return panel_value is None and api_value is None
    return abs(panel_value - api_value) <= 0.51 * 10**-places


async def compare(
    panels: Panels,
    variables: dict[str, str],
    fb: httpx.AsyncClient,
    metrics: httpx.AsyncClient,
    read: dict[str, str],
    project: str,
    window: dict[str, str],
) -> None:
    base = f"/v1/projects/{project}"
    every = {**variables, "feature": ALL, "release": ALL}
    checked = 0

    # Satisfaction: NPS series (overall, then following a feature) with its band, CSAT and CES with Wilson bands.
    for feature in (ALL, "export"):
        api = await get(
            fb, f"{base}/satisfaction/nps", interval="day", **window, **({} if feature == ALL else {"feature": feature})
        )
        series = {p["period"]: p for p in api["series"] if p["n"]}
        rows = await panels.panel("NPS with its 95 % margin", **{**every, "feature": feature})
        assert {r["time"].date().isoformat() for r in rows} == set(series)
        for r in rows:
            expected = series[r["time"].date().isoformat()]
            assert r["responses"] == expected["n"]
            assert close(r["NPS"], expected["score"])
            assert close(r["95 % high"] - r["NPS"], expected["margin"], 1)
            checked += 1
    for kind, title, name in (
        ("csat", "CSAT (satisfied 4-5) with its 95 % Wilson interval", "CSAT"),
        ("ces", "CES (agree 5-7) with its 95 % Wilson interval", "CES"),
    ):
        api = await get(fb, f"{base}/satisfaction/{kind}", interval="day", **window)
        series = {p["period"]: p for p in api["series"] if p["n"]}
        rows = await panels.panel(title, **every)
        assert {r["time"].date().isoformat() for r in rows} == set(series)
        for r in rows:
            expected = series[r["time"].date().isoformat()]
            assert close(100 * r[name], expected["score"])
            assert close(100 * r["95 % low"], expected["low"])
            assert close(100 * r["95 % high"], expected["high"])
            assert close(r["mean score"], expected["mean"], 3)
            checked += 1
    # Breakdowns and the crash experience over the range.
    for title, by_, column in (
        ("NPS by feature", "feature", "feature"),
        ("NPS by release", "release", "release"),
        ("NPS by segment ($trait)", "trait:plan", "value"),
    ):
        groups = {
            g["group"] or "(none)": g
            for g in (await get(fb, f"{base}/satisfaction/nps/breakdown", by=by_, **window))["groups"]
        }
        rows = await panels.panel(title, **every)
        assert rows
        for r in rows:
            expected = groups[r[column]]
            assert (r["n"], r["too_small"]) == (expected["n"], expected["small"])
            assert close(r["nps"], expected["score"])
            assert close(r["margin"], expected["margin"])
            checked += 1
        # The panel of a segment lists the users who have the trait (the API adds a group for those who have not).
        assert {r[column] for r in rows} == set(groups) - ({"(none)"} if by_.startswith("trait:") else set())
    experience = {
        g["group"]: g
        for g in (await get(fb, f"{base}/satisfaction/nps/breakdown", by="experience:crash", **window))["groups"]
    }
    rows = by(await panels.panel("NPS by experience: crashed or not", **every), "experience")
    for label, group in (("crashed in the window", "crashed"), ("no crash in the window", "not_crashed")):
        assert rows[label]["n"] == experience[group]["n"]
        assert close(rows[label]["nps"], experience[group]["score"])
        checked += 1
    verbatims = await panels.panel("Latest verbatims", **every)
    listed = await get(fb, f"{base}/responses", limit=50, **window)
    assert [v["comment"] for v in verbatims] == [r["comment"] for r in listed["responses"]]

    # Adoption: active users, lifecycle by week and by day, features, retention.
    active = {r["date"]: r for r in (await get(metrics, f"{base}/active-users", read, **window))["series"]}
    active_rows = await panels.panel("DAU, WAU, MAU", **every)
    sticky = {r["time"].date().isoformat(): r["DAU / MAU"] for r in await panels.panel("Stickiness", **every)}
    assert {r["time"].date().isoformat() for r in active_rows} == set(active)
    for r in active_rows:
        expected = active[r["time"].date().isoformat()]
        assert (r["DAU"], r["WAU"], r["MAU"]) == (expected["dau"], expected["wau"], expected["mau"])
        assert close(sticky[r["time"].date().isoformat()], expected["stickiness"], 6)
        checked += 1
    for interval in ("week", "day"):
        api = (await get(metrics, f"{base}/lifecycle", read, interval=interval, **window))["series"]
        rows = await panels.panel("Lifecycle", **{**every, "interval": interval})
        assert [
            {
                "period": r["time"].date().isoformat(),
                **{k: r[k] for k in ("new", "returning", "resurrecting", "dormant")},
            }
            for r in rows
        ] == [{k: p[k] for k in ("period", "new", "returning", "resurrecting", "dormant")} for p in api]
        checked += len(rows)
    features = (await get(metrics, f"{base}/features", read, **window))["features"]
    rows = await panels.panel("Feature adoption", **every)
    assert [(r["feature"], r["users"], r["events"]) for r in rows] == [
        (f["feature"], f["users"], f["events"]) for f in features
    ]
    assert all(close(r["adoption_rate"], f["adoption_rate"], 9) for r, f in zip(rows, features, strict=True))
    trend = await panels.panel("Trend of $feature", **{**every, "feature": "export"})
    assert trend
    cohorts = (await get(metrics, f"{base}/retention", read, interval="day", periods=12, **window))["cohorts"]
    cells = {(r["cohort"], r["period_number"]): r for r in await panels.panel("Retention", **every)}
    for cohort in cohorts:
        for n, rate in enumerate(cohort["rates"]):
            if cohort["counts"][n]:  # the view holds cohort periods with someone active
                cell = cells[(cohort["cohort"], n)]
                assert (cell["size"], close(cell["rate"], rate, 9)) == (cohort["size"], True)
                checked += 1
            else:
                assert (cohort["cohort"], n) not in cells

    # Release health: per-day rates against each release's daily health, the summary against /releases.
    for release in ("1.0", "2.0"):
        api = await get(
            metrics, f"{base}/releases/{release}/health", read, environment="production", interval="day", **window
        )
        daily = {p["period"][:10]: p for p in api["series"] if p["sessions"]}
        for title, key in (
            ("Crash-free sessions per release", "crash_free_sessions"),
            ("Crash-free users per release", "crash_free_users"),
            ("Healthy-session rate per release", "healthy_sessions_rate"),
        ):
            rows = [r for r in await panels.panel(title, **every) if r["metric"] == release]
            assert {r["time"].date().isoformat() for r in rows} == set(daily), (title, release)
            for r in rows:
                assert close(r["value"], daily[r["time"].date().isoformat()][key], 9), (title, release, r)
                checked += 1
    releases = {
        r["release"]: r for r in (await get(metrics, f"{base}/releases", read, environment="production"))["releases"]
    }
    rows = by(await panels.panel("Releases: health over the range, adoption and stage now", **every), "release")
    assert set(rows) == set(releases)
    for release, r in rows.items():
        expected = releases[release]
        assert (r["sessions"], r["stage"]) == (expected["sessions"], expected["stage"])
        for key in ("crash_free_sessions", "healthy_sessions_rate", "adoption_sessions", "adoption_users"):
            assert close(r[key], expected[key], 9), (release, key)
        checked += 1
    assert checked > 50
