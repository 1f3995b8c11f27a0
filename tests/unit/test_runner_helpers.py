"""The runner's pure helpers: keeping each new event once, the next offset per partition, freezing the startup heap."""

import gc
import uuid
from dataclasses import dataclass

import pytest

from pulse_common.runner.process import freeze_startup_heap
from pulse_common.runner.projection import SourceRecord
from pulse_common.runner.runner import _next_offsets
from pulse_common.runner.tracking import first_new

A, B, C, D = (uuid.UUID(int=n) for n in (1, 2, 3, 4))


@dataclass(frozen=True)
class Ev:
    event_id: uuid.UUID
    label: str


@pytest.mark.parametrize(
    ("events", "claimed_before", "expected"),
    [
        pytest.param([], set(), [], id="empty"),
        pytest.param([Ev(A, "a1")], {A}, [], id="claimed-before-dropped"),
        pytest.param([Ev(A, "a1")], set(), ["a1"], id="new-kept"),
        pytest.param([Ev(A, "a1"), Ev(A, "a2"), Ev(A, "a3")], set(), ["a1"], id="repeats-dropped-first-kept"),
        pytest.param(
            [Ev(A, "a1"), Ev(B, "b1"), Ev(A, "a2"), Ev(C, "c1"), Ev(B, "b2"), Ev(D, "d1")],
            {C},
            ["a1", "b1", "d1"],
            id="mixed-order-kept",
        ),
        pytest.param([Ev(B, "b1"), Ev(A, "a1")], set(), ["b1", "a1"], id="batch-order-not-id-order"),
        pytest.param([Ev(A, "a1")], {B, C}, ["a1"], id="claims-of-absent-ids-ignored"),
        pytest.param([Ev(C, "c1"), Ev(C, "c2")], {C}, [], id="claimed-before-repeats-dropped"),
    ],
)
def test_first_new(events: list[Ev], claimed_before: set[uuid.UUID], expected: list[str]) -> None:
    assert [e.label for e in first_new(events, {i.int for i in claimed_before})] == expected


def _record(topic: str, partition: int, offset: int) -> SourceRecord:
    return SourceRecord(topic, partition, offset, b"k", b"v", 0)


@pytest.mark.parametrize(
    ("positions", "expected"),
    [
        pytest.param([], {}, id="empty"),
        pytest.param([("t", 0, 0)], {("t", 0): 1}, id="offset-zero"),
        pytest.param([("t", 0, 41)], {("t", 0): 42}, id="single"),
        pytest.param([("t", 0, 5), ("t", 0, 6), ("t", 0, 7)], {("t", 0): 8}, id="consecutive"),
        pytest.param([("t", 0, 9), ("t", 0, 3)], {("t", 0): 10}, id="max-not-last"),
        pytest.param([("t", 0, 3), ("t", 0, 3)], {("t", 0): 4}, id="repeated-offset"),
        pytest.param(
            [("t", 0, 10), ("t", 1, 2), ("t", 0, 11), ("u", 0, 100), ("t", 1, 1)],
            {("t", 0): 12, ("t", 1): 3, ("u", 0): 101},
            id="per-topic-and-partition",
        ),
    ],
)
def test_next_offsets(positions: list[tuple[str, int, int]], expected: dict[tuple[str, int], int]) -> None:
    batch: dict[tuple[str, int], list[SourceRecord]] = {}
    for topic, partition, offset in positions:
        batch.setdefault((topic, partition), []).append(_record(topic, partition, offset))
    assert _next_offsets(batch) == expected


def test_the_startup_heap_is_frozen_out_of_later_collections() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    startup_object = {"built": "at startup"}
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert not any(startup_object is o for o in gc.get_objects())  # frozen objects are no generation's
    finally:
        gc.unfreeze()
