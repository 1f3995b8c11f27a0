"""RecentEventIds: a bounded memory of published event ids; an id is kept at least until half the capacity of other
ids has been remembered after it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_ingest.recent import RecentEventIds

IDS = [f"id-{n}" for n in range(1, 11)]


def test_remembers_ids() -> None:
    recent = RecentEventIds(capacity=10)
    recent.remember(IDS[:3])
    assert [event_id in recent for event_id in IDS[:4]] == [True, True, True, False]
    assert len(recent) == 3


def test_starts_empty() -> None:
    recent = RecentEventIds(capacity=5)
    assert len(recent) == 0
    assert IDS[0] not in recent


def test_forgets_the_oldest_generation() -> None:
    recent = RecentEventIds(capacity=4)  # generations of 2
    recent.remember(IDS[:2])
    recent.remember(IDS[2:4])
    assert all(event_id in recent for event_id in IDS[:4])
    recent.remember(IDS[4:5])
    recent.remember(IDS[5:6])
    assert [event_id for event_id in IDS if event_id in recent] == IDS[2:6]


def test_remembering_again_refreshes() -> None:
    recent = RecentEventIds(capacity=4)
    recent.remember(IDS[:2])
    recent.remember([IDS[0], IDS[2]])  # IDS[0] is remembered again, in the newer generation
    recent.remember(IDS[3:5])
    assert [event_id for event_id in IDS if event_id in recent] == [IDS[0], IDS[2], IDS[3], IDS[4]]


@pytest.mark.parametrize("batch", [[], IDS[:1], IDS])
def test_capacity_zero_remembers_nothing(batch: list[str]) -> None:
    recent = RecentEventIds(capacity=0)
    recent.remember(batch)
    assert len(recent) == 0
    assert not any(event_id in recent for event_id in IDS)


def test_accepts_any_iterable() -> None:
    recent = RecentEventIds(capacity=5)
    recent.remember(event_id for event_id in IDS[:2])
    assert len(recent) == 2


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(1, 12),
    batches=st.lists(st.lists(st.integers(0, 30).map(str), max_size=6), max_size=25),
)
def test_an_id_is_kept_until_half_the_capacity_of_others_came_after_it(capacity: int, batches: list[list[str]]) -> None:
    recent = RecentEventIds(capacity=capacity)
    since: dict[str, set[str]] = {}  # id -> the other ids remembered since it was last remembered
    largest = 0
    for batch in batches:
        largest = max(largest, len(batch))
        recent.remember(batch)
        for event_id in batch:
            since[event_id] = set()
        for event_id, others in since.items():
            others.update(i for i in batch if i != event_id)
        for event_id, others in since.items():
            if len(others) < capacity // 2:
                assert event_id in recent, (event_id, others)
        assert len(recent) <= capacity + 2 * largest
