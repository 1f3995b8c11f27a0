"""A user's erasure (user_deleted) in the projections that are not read per user: the daily event counts and the
release-health rollups read as if the user had never sent anything (brute force over the history without them),
while what the user sent after the erasure counts as usual."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from pulse_common.events import SessionsAggregated, SessionUpdated, UserDeleted
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.daily_events import DailyEventsProjection
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from tests.helpers import create_topic, produce_events, usage_event
from tests.integration.harness import metrics_api, running, wait_applied
from tests.integration.ingest_app import new_project
from tests.integration.test_release_health_bruteforce import (
    FIRST,
    LAST,
    brute_force,
    figures,
    in_days,
    random_history,
    recent_users_mismatches,
)


def erasure(project: str, user: str) -> UserDeleted:
    return UserDeleted(event_id=uuid.uuid4(), project=project, received_at=datetime.now(UTC), distinct_id=user)


async def test_erased_users_leave_the_release_health_figures_as_if_they_never_sent_a_session(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool, "America/New_York")
    events: list[Any] = random_history(project.project, seed=17)
    sessions_of: Counter[str] = Counter(e.distinct_id for e in events if e.distinct_id)
    # The busiest user, and one with SDK aggregates of their own too.
    erased = {sessions_of.most_common(1)[0][0], "user-1"}
    assert any(isinstance(e, SessionsAggregated) and e.distinct_id == "user-1" for e in events)
    deletions = [erasure(project.project, user) for user in sorted(erased)]
    topic = await create_topic(settings.kafka_bootstrap, partitions=3)
    async with running(settings, pool, topic, group="erase-rh", projection=ReleaseHealthProjection(pool, topic=topic)):
        # Erased once everything they sent was applied (aggregates are keyed by release, so on other partitions).
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, ReleaseHealthProjection.name, topic, len(events))
        await produce_events(settings.kafka_bootstrap, topic, deletions)
        await wait_applied(pool, ReleaseHealthProjection.name, topic, len(events) + len(deletions))

    kept: list[SessionUpdated | SessionsAggregated] = [e for e in events if e.distinct_id not in erased]
    sessions = brute_force(kept)
    assert await recent_users_mismatches(pool, project.project, sessions) == []
    window = [s for s in sessions if in_days(s[2], FIRST, LAST)]
    headers = {"Authorization": f"Bearer {project.read_key}"}
    params = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    base = f"/v1/projects/{project.project}"
    async with metrics_api(settings) as api:
        listed = (await api.get(f"{base}/releases", params=params, headers=headers)).json()
        got = {(r["release"], r["environment"]): r for r in listed["releases"]}
        assert set(got) == {(s[0], s[1]) for s in window}
        for (release, environment), row in got.items():
            mine = [s for s in window if (s[0], s[1]) == (release, environment)]
            assert {k: row[k] for k in figures(mine)} == figures(mine), (release, environment)
        health = (
            await api.get(
                f"{base}/releases/app@1.1/health",
                params={**params, "interval": "day", "environment": "production"},
                headers=headers,
            )
        ).json()
    moment = datetime.combine(FIRST, datetime.min.time())
    for period in health["series"]:
        mine = [
            s
            for s in sessions
            if s[0] == "app@1.1" and s[1] == "production" and moment <= s[2] < moment + timedelta(days=1)
        ]
        assert {k: period[k] for k in figures(mine)} == figures(mine), moment
        moment += timedelta(days=1)
    # Nothing of theirs is left behind.
    for table in ("metrics.sessions", "metrics.session_aggregates", "metrics.release_user_hours"):
        left = await pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE project = $1 AND distinct_id = ANY($2::text[])",
            project.project,
            sorted(erased),
        )
        assert left == 0, table


async def test_an_erased_user_leaves_the_daily_event_counts_as_if_they_never_sent_an_event(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool, "UTC")
    day = datetime(2026, 6, 1, 12, tzinfo=UTC)
    before = [
        usage_event(project.project, user, name, day + timedelta(days=d))
        for d in range(3)
        for user, name in (("erased", "Exported"), ("erased", "Only Theirs"), ("kept", "Exported"))
    ]
    after = [usage_event(project.project, "erased", "Exported", day)]  # sent again after the erasure: counted
    events: list[Any] = [*before, erasure(project.project, "erased"), *after]
    topic = await create_topic(settings.kafka_bootstrap, partitions=1)  # one partition: the erasure's place holds
    async with running(settings, pool, topic, group="erase-daily", projection=DailyEventsProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, DailyEventsProjection.name, topic, len(events))
    rows = await pool.fetch(
        "SELECT day, event, count FROM metrics.daily_event_counts WHERE project = $1 ORDER BY day, event",
        project.project,
    )
    first = day.date()
    assert [(r["day"], r["event"], r["count"]) for r in rows] == [
        (first, "Exported", 2),  # kept's, and the erased user's new one
        (first + timedelta(days=1), "Exported", 1),
        (first + timedelta(days=2), "Exported", 1),
    ]  # "Only Theirs" is gone altogether, not left at 0
