"""RecentEventIds: a bounded memory of published event ids, oldest forgotten first."""

import uuid

import pytest

from pulse_ingest.recent import RecentEventIds

IDS = [uuid.UUID(int=n) for n in range(1, 11)]


def test_remembers_ids() -> None:
    recent = RecentEventIds(capacity=5)
    recent.remember(IDS[:3])
    assert [event_id in recent for event_id in IDS[:4]] == [True, True, True, False]
    assert len(recent) == 3


def test_starts_empty() -> None:
    recent = RecentEventIds(capacity=5)
    assert len(recent) == 0
    assert IDS[0] not in recent


@pytest.mark.parametrize(
    ("capacity", "batches", "kept"),
    [
        pytest.param(3, [IDS[:3]], IDS[:3], id="exactly-full"),
        pytest.param(3, [IDS[:4]], IDS[1:4], id="one-batch-over"),
        pytest.param(3, [IDS[:2], IDS[2:5]], IDS[2:5], id="second-batch-evicts-first"),
        pytest.param(3, [IDS[:10]], IDS[7:10], id="batch-larger-than-capacity"),
        pytest.param(1, [IDS[:1], IDS[1:2]], IDS[1:2], id="capacity-1"),
        pytest.param(5, [[IDS[0], IDS[0], IDS[0]]], IDS[:1], id="repeats-count-once"),
        pytest.param(3, [[]], [], id="empty-batch"),
    ],
)
def test_capacity_evicts_oldest_first(capacity: int, batches: list[list[uuid.UUID]], kept: list[uuid.UUID]) -> None:
    recent = RecentEventIds(capacity=capacity)
    for batch in batches:
        recent.remember(batch)
    assert [event_id for event_id in IDS if event_id in recent] == kept
    assert len(recent) == len(kept)


def test_remembering_again_refreshes_recency() -> None:
    recent = RecentEventIds(capacity=3)
    recent.remember([IDS[0], IDS[1], IDS[2]])
    recent.remember([IDS[0]])  # IDS[0] is now the newest; IDS[1] the oldest
    recent.remember([IDS[3]])
    assert [event_id for event_id in IDS if event_id in recent] == [IDS[0], IDS[2], IDS[3]]
    recent.remember([IDS[4]])
    assert [event_id for event_id in IDS if event_id in recent] == [IDS[0], IDS[3], IDS[4]]


def test_refresh_within_one_batch() -> None:
    recent = RecentEventIds(capacity=2)
    recent.remember([IDS[0], IDS[1], IDS[0], IDS[2]])
    assert [event_id for event_id in IDS if event_id in recent] == [IDS[0], IDS[2]]


@pytest.mark.parametrize("batch", [[], IDS[:1], IDS])
def test_capacity_zero_remembers_nothing(batch: list[uuid.UUID]) -> None:
    recent = RecentEventIds(capacity=0)
    recent.remember(batch)
    assert len(recent) == 0
    assert not any(event_id in recent for event_id in IDS)


def test_accepts_any_iterable() -> None:
    recent = RecentEventIds(capacity=5)
    recent.remember(event_id for event_id in IDS[:2])
    assert len(recent) == 2


@pytest.mark.parametrize("other", [str(IDS[0]), IDS[0].int, None, IDS[0].bytes])
def test_membership_is_by_uuid(other: object) -> None:
    recent = RecentEventIds(capacity=5)
    recent.remember(IDS[:1])
    assert other not in recent
    assert uuid.UUID(str(IDS[0])) in recent
