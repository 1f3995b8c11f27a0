"""Every adoption endpoint against a brute-force recomputation from the raw events of a random history: equal,
exactly. The history crosses a DST change of a non-UTC project, repeats events (same messageId), sends late events
and mixes in identify calls (not activity)."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from pulse_common.events import UsageEventRecorded
from pulse_common.periods import Interval, period_start, periods_covering, shift_period
from pulse_common.settings import CommonSettings
from pulse_metrics.projections.adoption import AdoptionProjection
from tests.helpers import create_topic, produce_events, usage_event
from tests.integration.harness import metrics_api, running, wait_applied
from tests.integration.ingest_app import new_project

ZONE = ZoneInfo("America/New_York")  # DST ends on 2026-11-01
FIRST, LAST = date(2026, 9, 20), date(2026, 11, 20)


def random_history(project: str, seed: int = 7, users: int = 120, count: int = 3000) -> list[UsageEventRecorded]:
    rng = random.Random(seed)
    start = datetime(2026, 9, 20, 4, tzinfo=UTC)
    span = (datetime(2026, 11, 21, 4, tzinfo=UTC) - start).total_seconds()
    events = []
    for i in range(count):
        user = f"user-{min(int(rng.expovariate(1 / 40)), users - 1)}"  # a few heavy users, many light ones
        when = start + timedelta(seconds=rng.random() * span)
        event = usage_event(project, user, rng.choice(["Opened", "Exported", "Shared"]), when, message_id=f"m{i}")
        kind = rng.choices(["track", "page", "screen", "identify"], weights=[70, 15, 10, 5])[0]
        events.append(msgspec.structs.replace(event, type=kind))
    duplicates = rng.sample(events, 200)  # delivered again: same ids, must count once
    return events + duplicates


def brute_force_days(events: list[UsageEventRecorded]) -> dict[str, set[date]]:
    seen: set[object] = set()
    days: dict[str, set[date]] = defaultdict(set)
    for e in events:
        if e.event_id in seen or e.type not in ("track", "page", "screen"):
            continue
        seen.add(e.event_id)
        days[e.distinct_id].add(e.timestamp.astimezone(ZONE).date())
    return days


def active_in(days: dict[str, set[date]], first: date, last: date) -> set[str]:
    return {u for u, ds in days.items() if any(first <= d <= last for d in ds)}


def expected_active_users(days: dict[str, set[date]]) -> list[dict[str, Any]]:
    rows = []
    d = FIRST
    while d <= LAST:
        dau = len(active_in(days, d, d))
        mau = len(active_in(days, d - timedelta(days=29), d))
        rows.append(
            {
                "date": d.isoformat(),
                "dau": dau,
                "wau": len(active_in(days, d - timedelta(days=6), d)),
                "mau": mau,
                "stickiness": dau / mau if mau else None,
            }
        )
        d += timedelta(days=1)
    return rows


def expected_lifecycle(days: dict[str, set[date]], interval: Interval) -> list[dict[str, Any]]:
    first_day = {u: min(ds) for u, ds in days.items()}
    rows = []
    for start in periods_covering(FIRST, LAST, interval):
        end = shift_period(start, interval, 1) - timedelta(days=1)
        previous = shift_period(start, interval, -1)
        now = active_in(days, start, end)
        before = active_in(days, previous, start - timedelta(days=1))
        new = {u for u in now if start <= first_day[u] <= end}
        rows.append(
            {
                "period": start.isoformat(),
                "new": len(new),
                "returning": len(now & before),
                "resurrecting": len(now - before - new),
                "dormant": -len(before - now),
            }
        )
    return rows


def expected_retention(days: dict[str, set[date]], interval: Interval, periods: int, mode: str) -> list[dict[str, Any]]:
    first_day = {u: min(ds) for u, ds in days.items()}
    cohorts = []
    for start in periods_covering(FIRST, LAST, interval):
        members = {u for u, f in first_day.items() if period_start(f, interval) == start}
        counts = []
        for n in range(periods + 1):
            p = shift_period(start, interval, n)
            p_end = shift_period(start, interval, n + 1) - timedelta(days=1)
            if mode == "on":
                counts.append(len({u for u in members if any(p <= d <= p_end for d in days[u])}))
            else:
                counts.append(len({u for u in members if max(days[u]) >= p}))
        rates = [c / len(members) if members else None for c in counts]
        cohorts.append({"cohort": start.isoformat(), "size": len(members), "counts": counts, "rates": rates})
    return cohorts


async def test_adoption_endpoints_equal_a_brute_force_recomputation(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool, "America/New_York")
    events = random_history(project.project)
    # Late events: the history is produced in a shuffled order, so periods are restated as events arrive.
    random.Random(3).shuffle(events)
    topic = await create_topic(settings.kafka_bootstrap, partitions=3)
    async with running(
        settings, pool, topic, group="adoption", projection=AdoptionProjection(pool, topic=topic)
    ) as run:
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, AdoptionProjection.name, topic, len(events))
        assert run.runner.stats.duplicates == 200
    days = brute_force_days(events)
    headers = {"Authorization": f"Bearer {project.read_key}"}
    window = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    async with metrics_api(settings) as api:
        active = (await api.get(f"/v1/projects/{project.project}/active-users", params=window, headers=headers)).json()
        assert active["timezone"] == "America/New_York"
        assert [{k: row[k] for k in ("date", "dau", "wau", "mau", "stickiness")} for row in active["series"]] == (
            expected_active_users(days)
        )
        assert set(active["definitions"]) == {"dau", "wau", "mau", "stickiness"}
        for interval in ("day", "week", "month"):
            body = (
                await api.get(
                    f"/v1/projects/{project.project}/lifecycle",
                    params={**window, "interval": interval},
                    headers=headers,
                )
            ).json()
            assert [{k: v for k, v in row.items() if k != "complete"} for row in body["series"]] == (
                expected_lifecycle(days, interval)
            ), interval
            for mode in ("on", "on_or_after"):
                params = {**window, "interval": interval, "periods": 4, "mode": mode}
                body = (
                    await api.get(f"/v1/projects/{project.project}/retention", params=params, headers=headers)
                ).json()
                got = [{k: c[k] for k in ("cohort", "size", "counts", "rates")} for c in body["cohorts"]]
                assert got == expected_retention(days, interval, 4, mode), (interval, mode)


def feature_history(project: str, mapped_at: datetime, seed: int = 11) -> list[UsageEventRecorded]:
    """Track events, some tagged with properties.feature, received before or after the "Shared" -> "sharing"
    mapping; page views tagged or not."""
    rng = random.Random(seed)
    changes: dict[object, dict[str, Any]] = {}  # per event id, so a repeated event stays the same event
    events = []
    for e in random_history(project, seed=seed, count=1500):
        if e.event_id not in changes:
            changes[e.event_id] = {
                "received_at": mapped_at + timedelta(hours=rng.choice([-1, 1])),
                "properties": {"feature": rng.choice(["export", "search"])} if rng.random() < 0.3 else {},
            }
        events.append(msgspec.structs.replace(e, **changes[e.event_id]))
    return events


def brute_force_feature(e: UsageEventRecorded, mapped_at: datetime) -> str | None:
    tagged = e.properties.get("feature")
    if isinstance(tagged, str):
        return tagged
    if e.type != "track" or e.name is None:
        return None
    return "sharing" if e.name == "Shared" and e.received_at >= mapped_at else e.name


async def test_feature_endpoints_equal_a_brute_force_recomputation(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    from pulse_common.features import map_event_to_feature

    project = await new_project(pool, "America/New_York")
    async with pool.acquire() as conn:
        mapped_at = await map_event_to_feature(conn, project.project, "Shared", "sharing")
    events = feature_history(project.project, mapped_at)
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    async with running(settings, pool, topic, group="feat", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, AdoptionProjection.name, topic, len(events))

    seen: set[object] = set()
    uses: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for e in events:
        feature = brute_force_feature(e, mapped_at)
        if e.event_id in seen or feature is None or e.type not in ("track", "page", "screen"):
            continue
        seen.add(e.event_id)
        uses[feature][e.distinct_id].append(e.timestamp.astimezone(ZONE).date())
    days = brute_force_days(events)
    first_active = {u: min(ds) for u, ds in days.items()}
    window_first, window_last = date(2026, 10, 1), date(2026, 10, 31)
    active = active_in(days, window_first, window_last)
    expected = []
    for feature, by_user in uses.items():
        in_window = {u: [d for d in ds if window_first <= d <= window_last] for u, ds in by_user.items()}
        users = [u for u, ds in in_window.items() if ds]
        if not users:
            continue
        waits = sorted((min(ds) - first_active[u]).days for u, ds in by_user.items())
        middle = len(waits) // 2
        median = float(waits[middle]) if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
        expected.append(
            {
                "feature": feature,
                "users": len(users),
                "events": sum(len(ds) for ds in in_window.values()),
                "adoption_rate": len(users) / len(active),
                "adopters_total": len(by_user),
                "median_days_to_adopt": median,
            }
        )
    expected.sort(key=lambda f: (-f["users"], f["feature"]))
    assert {"sharing", "Shared", "export", "search"} <= {f["feature"] for f in expected}

    headers = {"Authorization": f"Bearer {project.read_key}"}
    async with metrics_api(settings) as api:
        body = (
            await api.get(
                f"/v1/projects/{project.project}/features",
                params={"from": "2026-10-01", "to": "2026-10-31"},
                headers=headers,
            )
        ).json()
        assert body["features"] == expected
        weekly = (
            await api.get(
                f"/v1/projects/{project.project}/features/export",
                params={"from": "2026-10-01", "to": "2026-10-31", "interval": "week"},
                headers=headers,
            )
        ).json()
    export_first = {u: min(ds) for u, ds in uses["export"].items()}
    expected_weeks = []
    for start in periods_covering(window_first, window_last, "week"):
        end = start + timedelta(days=6)
        users = {u for u, ds in uses["export"].items() if any(start <= d <= end for d in ds)}
        events_in = sum(1 for ds in uses["export"].values() for d in ds if start <= d <= end)
        period_active = active_in(days, start, end)
        expected_weeks.append(
            {
                "period": start.isoformat(),
                "users": len(users),
                "events": events_in,
                "adoption_rate": len(users) / len(period_active) if period_active else None,
                "new_adopters": sum(1 for f in export_first.values() if start <= f <= end),
            }
        )
    assert [{k: v for k, v in row.items() if k != "complete"} for row in weekly["series"]] == expected_weeks


def with_plans(events: list[UsageEventRecorded], seed: int = 5) -> list[UsageEventRecorded]:
    """Every identify call sets a plan (the same for a repeated event)."""
    rng = random.Random(seed)
    plans: dict[object, str] = {}
    out = []
    for e in events:
        if e.type == "identify":
            plan = plans.setdefault(e.event_id, rng.choice(["free", "pro"]))
            e = msgspec.structs.replace(e, traits={"plan": plan})
        out.append(e)
    return out


def segment_days(events: list[UsageEventRecorded], days: dict[str, set[date]], value: str) -> dict[str, set[date]]:
    """User-days under the segment: the plan in effect at the end of the local day."""
    history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    seen: set[object] = set()
    for e in events:
        if e.type == "identify" and e.event_id not in seen:
            seen.add(e.event_id)
            history[e.distinct_id].append((e.timestamp, e.traits["plan"]))
    result: dict[str, set[date]] = defaultdict(set)
    for user, user_days in days.items():
        for day in user_days:
            end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
            before = [h for h in history[user] if h[0] < end]
            if before and max(before)[1] == value:
                result[user].add(day)
    return result


async def test_segment_filters_equal_a_brute_force_recomputation(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool, "America/New_York")
    events = with_plans(random_history(project.project, seed=21, count=2500))
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    async with running(settings, pool, topic, group="seg", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, AdoptionProjection.name, topic, len(events))
    all_days = brute_force_days(events)
    pro = segment_days(events, all_days, "pro")
    first_day = {u: min(ds) for u, ds in all_days.items()}
    pro_people = {u for u, f in first_day.items() if f in pro.get(u, set())}
    assert 0 < sum(len(ds) for ds in pro.values()) < sum(len(ds) for ds in all_days.values())

    headers = {"Authorization": f"Bearer {project.read_key}"}
    window = {"from": FIRST.isoformat(), "to": LAST.isoformat(), "segment": "plan:pro"}
    async with metrics_api(settings) as api:
        active = (await api.get(f"/v1/projects/{project.project}/active-users", params=window, headers=headers)).json()
        assert active["segment"] == "plan:pro"
        assert [{k: row[k] for k in ("date", "dau", "wau", "mau", "stickiness")} for row in active["series"]] == (
            expected_active_users(pro)
        )
        weekly = (
            await api.get(
                f"/v1/projects/{project.project}/lifecycle", params={**window, "interval": "week"}, headers=headers
            )
        ).json()
        expected = []
        for start in periods_covering(FIRST, LAST, "week"):
            end = start + timedelta(days=6)
            now, before = (
                active_in(pro, start, end),
                active_in(pro, start - timedelta(days=7), start - timedelta(days=1)),
            )
            new = {u for u in pro_people if start <= first_day[u] <= end}
            expected.append(
                {
                    "period": start.isoformat(),
                    "new": len(new),
                    "returning": len(now & before),
                    "resurrecting": len(now - before - new),
                    "dormant": -len(before - now),
                }
            )
        assert [{k: v for k, v in row.items() if k != "complete"} for row in weekly["series"]] == expected
        retained = (
            await api.get(
                f"/v1/projects/{project.project}/retention",
                params={**window, "interval": "week", "periods": 3, "mode": "on_or_after"},
                headers=headers,
            )
        ).json()
        expected_cohorts = []
        for start in periods_covering(FIRST, LAST, "week"):
            members = {u for u in pro_people if period_start(first_day[u], "week") == start}
            counts = [len({u for u in members if max(pro[u]) >= shift_period(start, "week", n)}) for n in range(4)]
            expected_cohorts.append({"cohort": start.isoformat(), "size": len(members), "counts": counts})
        assert [{k: c[k] for k in ("cohort", "size", "counts")} for c in retained["cohorts"]] == expected_cohorts
        bad = await api.get(f"/v1/projects/{project.project}/active-users", params={"segment": "plan"}, headers=headers)
        assert (bad.status_code, bad.json()["code"]) == (400, "invalid_parameter")
        assert "segment" in bad.json()["message"]


async def test_a_deleted_user_leaves_figures_as_if_they_never_existed(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    import uuid

    from pulse_common.events import UserDeleted

    project = await new_project(pool, "America/New_York")
    events = random_history(project.project, seed=31, count=1500)
    days = brute_force_days(events)
    erased = max(days, key=lambda u: len(days[u]))  # the most active user
    deletion = UserDeleted(
        event_id=uuid.uuid4(), project=project.project, received_at=datetime.now(UTC), distinct_id=erased
    )
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    async with running(settings, pool, topic, group="del", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, [*events, deletion])  # type: ignore[list-item]
        await wait_applied(pool, AdoptionProjection.name, topic, len(events) + 1)
    remaining = {u: ds for u, ds in days.items() if u != erased}
    headers = {"Authorization": f"Bearer {project.read_key}"}
    window = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    async with metrics_api(settings) as api:
        active = (await api.get(f"/v1/projects/{project.project}/active-users", params=window, headers=headers)).json()
        lifecycle = (
            await api.get(
                f"/v1/projects/{project.project}/lifecycle", params={**window, "interval": "week"}, headers=headers
            )
        ).json()
        gone = await api.get(f"/v1/projects/{project.project}/users/{erased}", headers=headers)
        features = (await api.get(f"/v1/projects/{project.project}/features", params=window, headers=headers)).json()
    assert [{k: row[k] for k in ("date", "dau", "wau", "mau", "stickiness")} for row in active["series"]] == (
        expected_active_users(remaining)
    )
    assert [{k: v for k, v in row.items() if k != "complete"} for row in lifecycle["series"]] == (
        expected_lifecycle(remaining, "week")
    )
    assert gone.status_code == 404
    adopters: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.type == "track" and e.distinct_id != erased and e.name:
            adopters[e.name].add(e.distinct_id)
    assert {f["feature"]: f["adopters_total"] for f in features["features"]} == {
        name: len(users) for name, users in adopters.items()
    }


async def test_a_segment_holding_every_user_reads_the_same_as_no_segment(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    """The row-level reads (segments) and the rollup reads (everyone) are two implementations of one definition:
    with a trait every user has from the start, every endpoint answers the same through both."""
    project = await new_project(pool, "America/New_York")
    history = random_history(project.project, seed=41, count=1500)
    events = [
        msgspec.structs.replace(
            usage_event(project.project, user, "", datetime(2026, 9, 1, tzinfo=UTC), message_id=f"everyone-{user}"),
            type="identify",
            name=None,
            traits={"cohort": "everyone"},
        )
        for user in sorted({e.distinct_id for e in history})
    ] + [
        msgspec.structs.replace(e, properties={"feature": "export"}) if i % 5 == 0 else e for i, e in enumerate(history)
    ]
    topic = await create_topic(settings.kafka_bootstrap, partitions=2)
    async with running(settings, pool, topic, group="same", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, AdoptionProjection.name, topic, len(events))
    headers = {"Authorization": f"Bearer {project.read_key}"}
    window = {"from": "2026-10-01", "to": LAST.isoformat()}
    base = f"/v1/projects/{project.project}"
    reads = [("/active-users", {})] + [
        (path, {"interval": interval, **extra})
        for interval in ("day", "week", "month")
        for path, extra in (
            ("/lifecycle", {}),
            ("/retention", {"periods": 3, "mode": "on"}),
            ("/retention", {"periods": 3, "mode": "on_or_after"}),
            ("/features/export", {}),
            ("/features/Opened", {}),
        )
    ]
    reads.append(("/features", {}))
    async with metrics_api(settings) as api:
        for path, params in reads:
            everyone = (await api.get(base + path, params={**window, **params}, headers=headers)).json()
            segmented = (
                await api.get(base + path, params={**window, **params, "segment": "cohort:everyone"}, headers=headers)
            ).json()
            assert segmented.pop("segment") == "cohort:everyone"
            everyone.pop("segment", None)
            assert segmented == everyone, (path, params)
            assert any(v for v in everyone.values() if isinstance(v, list)), (path, params)  # not vacuous
