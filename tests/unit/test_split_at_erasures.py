"""split_at_erasures: a batch cut at each user_deleted, in order, with no empty runs."""

from datetime import UTC, datetime
from uuid import uuid4

from pulse_common.events import UserDeleted, split_at_erasures


def erasure() -> UserDeleted:
    return UserDeleted(event_id=uuid4(), project="p", received_at=datetime.now(UTC), distinct_id="u")


def test_runs_and_erasures_keep_their_order_and_no_run_is_empty() -> None:
    first, second = erasure(), erasure()
    assert list(split_at_erasures([1, 2, first, second, 3])) == [[1, 2], first, second, [3]]
    assert list(split_at_erasures([first])) == [first]
    assert list(split_at_erasures([1, 2])) == [[1, 2]]
    assert list(split_at_erasures([])) == []
