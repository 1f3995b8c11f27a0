"""A user's profile: latest traits by event time, activity span, features used."""

from datetime import UTC, datetime

import asyncpg
import msgspec

from pulse_common.settings import CommonSettings
from pulse_metrics.projections.activity import ActivityProjection
from pulse_metrics.projections.features import FeaturesProjection
from pulse_metrics.projections.traits import TraitsProjection
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
    projections = [
        ActivityProjection(pool, topic=topic),
        FeaturesProjection(pool, topic=topic),
        TraitsProjection(pool, topic=topic),
    ]
    async with (
        running(settings, pool, topic, group="profile-a", projection=projections[0]),
        running(settings, pool, topic, group="profile-f", projection=projections[1]),
        running(settings, pool, topic, group="profile-t", projection=projections[2]),
    ):
        await produce_events(settings.kafka_bootstrap, topic, events)
        for projection in projections:
            await wait_applied(pool, projection.name, topic, len(events))
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
