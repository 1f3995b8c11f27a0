"""feature_of / feature_changes / FeatureMap and trait_changes: the pure parts of the features and traits
projections (product.md §4, §1)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pulse_common.events import UsageEventRecorded, UsageType, UserDeleted
from pulse_common.features import FeatureMap, feature_of
from pulse_metrics.projections.features import feature_changes
from pulse_metrics.projections.traits import trait_changes

MAPPED_AT = datetime(2026, 11, 10, 12, tzinfo=UTC)
MAPPING = FeatureMap({("acme", "Clicked Export"): [(MAPPED_AT, "export")]})
ZONES = {"acme": ZoneInfo("Europe/Berlin")}


def event(
    type_: UsageType = "track",
    name: str | None = "Clicked Export",
    properties: dict[str, Any] | None = None,
    received_at: datetime = MAPPED_AT,
    when: datetime = datetime(2026, 11, 10, 22, 30, tzinfo=UTC),
    user: str = "ana",
    traits: dict[str, Any] | None = None,
) -> UsageEventRecorded:
    return UsageEventRecorded(
        event_id=uuid.uuid4(),
        project="acme",
        received_at=received_at,
        type=type_,
        name=name,
        distinct_id=user,
        timestamp=when,
        properties=properties or {},
        traits=traits or {},
    )


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        pytest.param(event(properties={"feature": " reports "}), "reports", id="properties-feature-wins"),
        pytest.param(event(received_at=MAPPED_AT), "export", id="mapped-from-its-time"),
        pytest.param(event(received_at=MAPPED_AT - timedelta(seconds=1)), "Clicked Export", id="before-mapping"),
        pytest.param(event(name="Other"), "Other", id="unmapped-name"),
        pytest.param(event(type_="page", name="Home"), None, id="page-without-feature"),
        pytest.param(event(type_="page", name="Home", properties={"feature": "docs"}), "docs", id="tagged-page"),
        pytest.param(event(properties={"feature": 5}), "export", id="non-string-feature-ignored"),
        pytest.param(event(properties={"feature": "  "}), "export", id="blank-feature-ignored"),
        pytest.param(event(type_="identify", name=None), None, id="identify"),
    ],
)
def test_feature_of(built: UsageEventRecorded, expected: str | None) -> None:
    assert feature_of(built, MAPPING) == expected


def test_a_later_mapping_replaces_an_earlier_one_from_its_time() -> None:
    later = MAPPED_AT + timedelta(days=1)
    mapping = FeatureMap({("acme", "Clicked Export"): [(MAPPED_AT, "export"), (later, "sharing")]})
    assert mapping.feature_of("acme", "Clicked Export", later - timedelta(seconds=1)) == "export"
    assert mapping.feature_of("acme", "Clicked Export", later) == "sharing"
    assert mapping.feature_of("other", "Clicked Export", later) is None


def test_feature_changes_count_per_local_day_and_keep_the_first_use() -> None:
    events = [
        event(when=datetime(2026, 11, 10, 22, 30, tzinfo=UTC)),  # 23:30 in Berlin: Nov 10
        event(when=datetime(2026, 11, 10, 23, 30, tzinfo=UTC)),  # 00:30 in Berlin: Nov 11
        event(when=datetime(2026, 11, 11, 8, tzinfo=UTC)),
        event(when=datetime(2026, 11, 1, 8, tzinfo=UTC)),  # a late event: an earlier first use
        event(type_="identify", name=None),
        UserDeleted(event_id=uuid.uuid4(), project="acme", received_at=MAPPED_AT, distinct_id="ana"),
        event(user="bo", when=datetime(2026, 11, 12, 8, tzinfo=UTC), properties={"feature": "search"}),
    ]
    changes = feature_changes(events, ZONES, MAPPING)
    assert dict(changes.user_feature_days) == {
        ("acme", "export", date(2026, 11, 10), "ana"): 1,
        ("acme", "export", date(2026, 11, 11), "ana"): 2,
        ("acme", "export", date(2026, 11, 1), "ana"): 1,
        ("acme", "search", date(2026, 11, 12), "bo"): 1,
    }
    assert changes.first_use == {
        ("acme", "export", "ana"): date(2026, 11, 1),
        ("acme", "search", "bo"): date(2026, 11, 12),
    }


def test_feature_changes_skip_projects_without_a_timezone() -> None:
    assert not feature_changes([event()], {}, MAPPING).user_feature_days


def test_trait_changes_come_from_identify_calls_in_a_stable_order() -> None:
    t1, t2 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    events = [
        event(type_="identify", name=None, when=t2, traits={"plan": "pro", "seats": 4}),
        event(type_="identify", name=None, when=t1, traits={"plan": "free", "": "no name"}),
        event(type_="track", traits={"plan": "ignored"}),
        event(type_="identify", name=None, when=t1, user="bo", traits={"x" * 201: 1, "country": "DE"}),
    ]
    assert trait_changes(events) == [
        ("acme", "ana", "plan", t1, "free"),
        ("acme", "ana", "plan", t2, "pro"),
        ("acme", "ana", "seats", t2, 4),
        ("acme", "bo", "country", t1, "DE"),
    ]
