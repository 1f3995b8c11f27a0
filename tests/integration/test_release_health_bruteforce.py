"""Every release-health endpoint against a brute-force recomputation from the raw session updates of a random
history: equal, exactly. The history has out-of-order updates, retried and repeated crash reports, crashes after
exit, sessions without a user, SDK aggregates with and without a user, two environments and a DST change."""

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from pulse_common.events import SessionsAggregated, SessionUpdated
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.release_health import ReleaseHealthProjection
from tests.helpers import create_topic, produce_events
from tests.integration.harness import metrics_api, running, wait_applied
from tests.integration.ingest_app import new_project

ZONE = ZoneInfo("America/New_York")  # DST ends on 2026-11-01
FIRST, LAST = date(2026, 10, 28), date(2026, 11, 3)
RELEASES = ("app@1.0", "app@1.1", "app@2.0")
TERMINAL = {"exited", "crashed", "abnormal"}


def random_history(project: str, seed: int = 5, sessions: int = 400) -> list[SessionUpdated | SessionsAggregated]:
    rng = random.Random(seed)
    start = datetime(2026, 10, 28, 4, tzinfo=UTC)
    span = (datetime(2026, 11, 4, 5, tzinfo=UTC) - start).total_seconds()
    events: list[SessionUpdated | SessionsAggregated] = []
    for s in range(sessions):
        user = None if rng.random() < 0.15 else f"user-{int(rng.expovariate(1 / 15))}"
        started = start + timedelta(seconds=rng.random() * span)
        # Later releases start later: adoption moves from one release to the next.
        release = RELEASES[min(2, int((started - start).total_seconds() / span * 3 + rng.random() * 0.6))]
        environment = rng.choices(["production", "staging"], weights=[4, 1])[0]
        final = rng.choices(["exited", "crashed", "abnormal", "ok"], weights=[70, 12, 5, 13])[0]
        errors = rng.choice([0, 0, 0, 1, 3])
        updates = [("ok", 0, started, True)]
        if errors:
            updates.append(("ok", errors, started + timedelta(minutes=5), False))
        if final != "ok":
            updates.append((final, errors, started + timedelta(minutes=10), False))
        if final == "crashed" and rng.random() < 0.5:
            updates.append(("crashed", errors, started + timedelta(minutes=11), False))  # a second crash report
        if final == "exited" and rng.random() < 0.1:
            updates.append(("crashed", errors + 1, started + timedelta(minutes=12), False))  # after exit: ignored
        if rng.random() < 0.3:
            rng.shuffle(updates)  # out of order
        if rng.random() < 0.1:
            updates.append(updates[0])  # a retried update (a new event, same content)
        for status, errs, at, init in updates:
            events.append(
                SessionUpdated(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=at,
                    session_id=f"s{s}",
                    distinct_id=user,
                    init=init,
                    started=started,
                    timestamp=at,
                    status=status,  # type: ignore[arg-type]
                    errors=errs,
                    release=release,
                    environment=environment,
                )
            )
    for _ in range(60):
        minute = (start + timedelta(seconds=rng.random() * span)).replace(second=0, microsecond=0)
        counts = {k: rng.choice([0, 0, 1, 2, 5]) for k in ("exited", "errored", "crashed", "abnormal")}
        events.append(
            SessionsAggregated(
                event_id=uuid.uuid4(),
                project=project,
                received_at=minute,
                started=minute,
                release=rng.choice(RELEASES),
                environment="production",
                distinct_id=rng.choice([None, "user-1", "user-2", "user-99"]),
                **counts,
            )
        )
    return events


@dataclass
class Bucket:
    sessions: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0
    users: set[str] = field(default_factory=set)
    crashed_users: set[str] = field(default_factory=set)
    unhealthy_users: set[str] = field(default_factory=set)


def brute_force(events: list[SessionUpdated | SessionsAggregated]) -> list[tuple[str, str, datetime, str, str | None]]:
    """(release, environment, local hour, health, user) of every session and every aggregated session."""
    updates: dict[str, list[SessionUpdated]] = defaultdict(list)
    counted: list[tuple[str, str, datetime, str, str | None]] = []
    for e in events:
        if isinstance(e, SessionUpdated):
            updates[e.session_id].append(e)
        else:
            hour = e.started.astimezone(ZONE).replace(minute=0, second=0, microsecond=0, tzinfo=None)
            for health, n in (
                ("healthy", e.exited),
                ("errored", e.errored),
                ("crashed", e.crashed),
                ("abnormal", e.abnormal),
            ):
                counted.extend([(e.release, e.environment, hour, health, e.distinct_id)] * n)
    for session in updates.values():
        # Terminal states are final: updates after the first terminal one (in log order) never count.
        considered = []
        for u in session:
            considered.append(u)
            if u.status in TERMINAL:
                break
        terminal = [u for u in considered if u.status in TERMINAL]
        status = terminal[0].status if terminal else "ok"
        errors = max(u.errors for u in considered)
        first = considered[0]
        started = min(u.started for u in considered)
        user = next((u.distinct_id for u in considered if u.distinct_id), None)
        health = status if status in ("crashed", "abnormal") else ("errored" if errors else "healthy")
        hour = started.astimezone(ZONE).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        counted.append((first.release, first.environment, hour, health, user))
    return counted


def figures(sessions: list[tuple[str, str, datetime, str, str | None]]) -> dict[str, Any]:
    b = Bucket()
    for _, _, _, health, user in sessions:
        b.sessions += 1
        if health != "healthy":
            setattr(b, health, getattr(b, health) + 1)
        if user:
            b.users.add(user)
            if health == "crashed":
                b.crashed_users.add(user)
            if health != "healthy":
                b.unhealthy_users.add(user)
    unhealthy = b.errored + b.crashed + b.abnormal

    def free(bad: int, whole: int) -> float | None:
        return 1 - bad / whole if whole else None

    return {
        "sessions": b.sessions,
        "users": len(b.users),
        "crashed_sessions": b.crashed,
        "errored_sessions": b.errored,
        "abnormal_sessions": b.abnormal,
        "crashed_users": len(b.crashed_users),
        "crash_free_sessions": free(b.crashed, b.sessions),
        "crash_free_users": free(len(b.crashed_users), len(b.users)),
        "healthy_sessions_rate": free(unhealthy, b.sessions),
        "healthy_users_rate": free(len(b.unhealthy_users), len(b.users)),
    }


async def recent_users_mismatches(
    pool: asyncpg.Pool, project: str, sessions: list[tuple[str, str, datetime, str, str | None]]
) -> list[Any]:
    """For every window of 24 local hours ending on an hour of the history: the users per release and environment
    and per environment that the recent links count, where they differ from the distinct users of the sessions."""
    hours = [s[2] for s in sessions]
    if not hours:
        return []
    mismatches: list[Any] = []
    end = min(hours)
    while end <= max(hours) + timedelta(hours=25):
        start = end - timedelta(hours=24)
        recent = [s for s in sessions if start <= s[2] < end and s[4]]
        by_release: dict[tuple[str, str], set[str]] = defaultdict(set)
        by_environment: dict[str, set[str]] = defaultdict(set)
        for release, environment, _, _, user in recent:
            assert user is not None
            by_release[(release, environment)].add(user)
            by_environment[environment].add(user)
        linked = await pool.fetch(
            "SELECT release, environment, sum(users)::bigint AS users FROM metrics.release_recent_user_links "
            "WHERE project = $1 AND hour >= $2 AND hour < $3 AND previous_hour < $2 GROUP BY 1, 2",
            project,
            start,
            end,
        )
        linked_environments = await pool.fetch(
            "SELECT environment, sum(users)::bigint AS users FROM metrics.environment_recent_user_links "
            "WHERE project = $1 AND hour >= $2 AND hour < $3 AND previous_hour < $2 GROUP BY 1",
            project,
            start,
            end,
        )
        got = {(r["release"], r["environment"]): r["users"] for r in linked if r["users"]}
        got_environments = {r["environment"]: r["users"] for r in linked_environments if r["users"]}
        expected = {key: len(users) for key, users in by_release.items()}
        expected_environments = {key: len(users) for key, users in by_environment.items()}
        if (got, got_environments) != (expected, expected_environments):
            mismatches.append((end, got, expected, got_environments, expected_environments))
        end += timedelta(hours=1)
    return mismatches


def in_days(hour: datetime, first: date, last: date) -> bool:
    return first <= hour.date() <= last


async def test_release_endpoints_equal_a_brute_force_recomputation(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool, "America/New_York")
    events = random_history(project.project)
    topic = await create_topic(settings.kafka_bootstrap, partitions=3)
    async with running(settings, pool, topic, group="releases", projection=ReleaseHealthProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, ReleaseHealthProjection.name, topic, len(events))
    sessions = brute_force(events)
    window = [s for s in sessions if in_days(s[2], FIRST, LAST)]
    headers = {"Authorization": f"Bearer {project.read_key}"}
    params = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    base = f"/v1/projects/{project.project}"
    async with metrics_api(settings) as api:
        listed = (await api.get(f"{base}/releases", params=params, headers=headers)).json()
        got = {(r["release"], r["environment"]): r for r in listed["releases"]}
        pairs = {(s[0], s[1]) for s in window}
        assert set(got) == pairs
        for release, environment in pairs:
            mine = [s for s in window if (s[0], s[1]) == (release, environment)]
            row = got[(release, environment)]
            assert {k: row[k] for k in figures(mine)} == figures(mine), (release, environment)
        # Adoption over the last 24 hours of the window (it ended in the past), stage over its last 6 hours.
        end = datetime.combine(LAST + timedelta(days=1), datetime.min.time())
        for (release, environment), row in got.items():
            recent = [s for s in sessions if s[1] == environment and end - timedelta(hours=24) <= s[2] < end]
            share = [s for s in recent if s[0] == release]
            people = {s[4] for s in recent if s[4]}
            assert row["adoption_sessions"] == (len(share) / len(recent) if recent else None)
            assert row["adoption_users"] == (len({s[4] for s in share if s[4]}) / len(people) if people else None)
            assert row["stage"] == expected_stage(sessions, release, environment, end), (release, environment)
        assert listed["releases"][0]["release"] == "app@2.0"  # newest first
        # Adoption by users reads the recent links: right for a window ending on any hour, not only this one.
        assert await recent_users_mismatches(pool, project.project, sessions) == []
        # The history exercises what it claims to: crashes, errors, users, several stages.
        assert all(figures(window)[k] for k in ("crashed_sessions", "errored_sessions", "abnormal_sessions", "users"))
        assert {row["stage"] for row in got.values()} >= {"adopted", "replaced"}, got

        for interval, step in (("day", timedelta(days=1)), ("hour", timedelta(hours=1))):
            health = (
                await api.get(
                    f"{base}/releases/app@1.1/health",
                    params={**params, "interval": interval, "environment": "production"},
                    headers=headers,
                )
            ).json()
            moment = datetime.combine(FIRST, datetime.min.time())
            expected = []
            while moment < end:
                mine = [
                    s for s in sessions if s[0] == "app@1.1" and s[1] == "production" and moment <= s[2] < moment + step
                ]
                expected.append({"period": moment.isoformat(), **figures(mine)})
                moment += step
            assert [{k: v for k, v in p.items() if k != "complete"} for p in health["series"]] == expected, interval

        compared = (
            await api.get(
                f"{base}/releases/compare",
                params={**params, "base": "app@1.0", "candidate": "app@1.1"},
                headers=headers,
            )
        ).json()
        for side, release in (("base", "app@1.0"), ("candidate", "app@1.1")):
            mine = [s for s in window if s[0] == release and s[1] == "production"]
            assert {k: compared[side][k] for k in figures(mine)} == figures(mine)
        assert {c["metric"] for c in compared["comparisons"]} == {
            "crash_free_sessions",
            "crash_free_users",
            "healthy_sessions_rate",
            "healthy_users_rate",
        }
        assert "two-proportion" in compared["method"]
        typo = await api.get(
            f"{base}/releases/compare", params={**params, "base": "app@1.0", "candidate": "app@1.l"}, headers=headers
        )
        assert (typo.status_code, typo.json()["code"]) == (404, "release_not_found")
        assert typo.json()["message"].startswith("candidate:")
        missing = await api.get(f"{base}/releases/app@9/health", params=params, headers=headers)
        assert (missing.status_code, missing.json()["code"]) == (404, "release_not_found")


def expected_stage(
    sessions: list[tuple[str, str, datetime, str, str | None]], release: str, env: str, end: datetime
) -> str:
    ours = [s for s in sessions if s[1] == env and s[2] < end]

    def share(window_end: datetime) -> float:
        inside = [s for s in ours if window_end - timedelta(hours=6) <= s[2] < window_end]
        return sum(1 for s in inside if s[0] == release) / len(inside) if inside else 0.0

    if share(end) >= 0.1:
        return "adopted"
    first = min(s[2] for s in ours)
    moment = first + timedelta(hours=1)
    while moment < end:
        if share(moment) >= 0.1:
            return "replaced"
        moment += timedelta(hours=1)
    return "low"
