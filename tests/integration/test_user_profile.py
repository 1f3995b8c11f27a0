"""A user's profile: latest traits by event time, activity span, features used."""

from datetime import UTC, datetime

import asyncpg
import msgspec

from pulse_common.settings import CommonSettings
from pulse_metrics.projections.adoption import AdoptionProjection
from tests.helpers import create_topic, produce_events, usage_event
from tests.integration.harness import metrics_api, running, wait_applied
from tests.integration.ingest_app import new_project


def identify(project: str, user: str, when: datetime, message_id: str, **traits: object):  # type: ignore[no-untyped-def]
    event = usage_event(project, user, "", when, message_id=message_id)
    return msgspec.structs.replace(event, type="identify", name=None, traits=traits)


async def test_profile_shows_latest_traits_activity_and_features(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    project = await new_project(pool, "Europe/Berlin")
    p = project.project
    events = [
        identify(p, "ana", datetime(2026, 11, 3, 9, tzinfo=UTC), "i2", plan="enterprise", seats=40),
        # Older, arriving later: must not override the newer plan, but its own trait counts.
        identify(p, "ana", datetime(2026, 11, 1, 9, tzinfo=UTC), "i1", plan="free", country="DE"),
        usage_event(p, "ana", "Exported", datetime(2026, 11, 1, 23, 30, tzinfo=UTC), message_id="t1"),
        usage_event(p, "ana", "Exported", datetime(2026, 11, 4, 8, tzinfo=UTC), message_id="t2"),
        usage_event(p, "ana", "Searched", datetime(2026, 11, 4, 9, tzinfo=UTC), message_id="t3"),
    ]
    topic = await create_topic(settings.kafka_bootstrap, partitions=1)
    async with running(settings, pool, topic, group="profile", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, AdoptionProjection.name, topic, len(events))
    headers = {"Authorization": f"Bearer {project.read_key}"}
    async with metrics_api(settings) as api:
        profile = (await api.get(f"/v1/projects/{p}/users/ana", headers=headers)).json()
        missing = await api.get(f"/v1/projects/{p}/users/nobody", headers=headers)
    assert profile["traits"] == {"plan": "enterprise", "seats": 40, "country": "DE"}
    # 23:30 UTC on Nov 1 is Nov 2 in Berlin.
    assert (profile["first_active_day"], profile["last_active_day"], profile["active_days"]) == (
        "2026-11-02",
        "2026-11-04",
        2,
    )
    assert profile["features"] == [
        {"feature": "Exported", "first_used": "2026-11-02", "events": 2},
        {"feature": "Searched", "first_used": "2026-11-04", "events": 1},
    ]
    assert profile["timezone"] == "Europe/Berlin"
    assert (missing.status_code, missing.json()["code"]) == (404, "user_not_found")


def anonymous(event):  # type: ignore[no-untyped-def]
    return msgspec.structs.replace(event, user_id=None, anonymous_id=event.distinct_id)


async def test_an_anonymous_visitor_who_signs_up_counts_as_the_user_from_then_on(
    settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    project = await new_project(pool)
    p = project.project
    link = msgspec.structs.replace(
        identify(p, "ana", datetime(2026, 11, 2, 12, tzinfo=UTC), "link", plan="pro"), anonymous_id="visitor-1"
    )
    events = [
        anonymous(usage_event(p, "visitor-1", "Viewed", datetime(2026, 11, 1, 12, tzinfo=UTC), message_id="v1")),
        link,
        # Sent later by an SDK that only knows the anonymous id: counts for ana.
        anonymous(usage_event(p, "visitor-1", "Exported", datetime(2026, 11, 3, 12, tzinfo=UTC), message_id="v2")),
        usage_event(p, "ana", "Exported", datetime(2026, 11, 4, 12, tzinfo=UTC), message_id="u1"),
    ]
    topic = await create_topic(settings.kafka_bootstrap, partitions=3)
    async with running(settings, pool, topic, group="identity", projection=AdoptionProjection(pool, topic=topic)):
        await produce_events(settings.kafka_bootstrap, topic, events)
        await wait_applied(pool, AdoptionProjection.name, topic, len(events))
    headers = {"Authorization": f"Bearer {project.read_key}"}
    window = {"from": "2026-11-01", "to": "2026-11-04"}
    async with metrics_api(settings) as api:
        ana = (await api.get(f"/v1/projects/{p}/users/ana", headers=headers)).json()
        visitor = (await api.get(f"/v1/projects/{p}/users/visitor-1", headers=headers)).json()
        active = (await api.get(f"/v1/projects/{p}/active-users", params=window, headers=headers)).json()
    assert (ana["first_active_day"], ana["active_days"]) == ("2026-11-03", 2)
    assert ana["features"] == [{"feature": "Exported", "first_used": "2026-11-03", "events": 2}]
    # The visit before signing up stays the visitor's: past figures are not rewritten.
    assert (visitor["first_active_day"], visitor["last_active_day"]) == ("2026-11-01", "2026-11-01")
    assert [(d["dau"], d["mau"]) for d in active["series"]] == [(1, 1), (0, 1), (1, 2), (1, 2)]
