"""The runner's pure helpers: keeping each claimed event once, and the next offset per partition."""

import uuid
from dataclasses import dataclass

import pytest

from pulse_common.runner.projection import SourceRecord
from pulse_common.runner.runner import _next_offsets, first_of_each

A, B, C, D = (uuid.UUID(int=n) for n in (1, 2, 3, 4))


@dataclass(frozen=True)
class Ev:
    event_id: uuid.UUID
    label: str


@pytest.mark.parametrize(
    ("events", "claimed", "expected"),
    [
        pytest.param([], set(), [], id="empty"),
        pytest.param([Ev(A, "a1")], set(), [], id="unclaimed-dropped"),
        pytest.param([Ev(A, "a1")], {A}, ["a1"], id="claimed-kept"),
        pytest.param([Ev(A, "a1"), Ev(A, "a2"), Ev(A, "a3")], {A}, ["a1"], id="repeats-dropped-first-kept"),
        pytest.param(
            [Ev(A, "a1"), Ev(B, "b1"), Ev(A, "a2"), Ev(C, "c1"), Ev(B, "b2"), Ev(D, "d1")],
            {A, B, D},
            ["a1", "b1", "d1"],
            id="mixed-order-kept",
        ),
        pytest.param([Ev(B, "b1"), Ev(A, "a1")], {A, B}, ["b1", "a1"], id="batch-order-not-id-order"),
        pytest.param([Ev(A, "a1")], {A, B, C}, ["a1"], id="claims-for-absent-ids-ignored"),
        pytest.param([Ev(C, "c1"), Ev(C, "c2")], {A}, [], id="unclaimed-repeats-dropped"),
    ],
)
def testfirst_of_each(events: list[Ev], claimed: set[uuid.UUID], expected: list[str]) -> None:
    assert [e.label for e in first_of_each(events, claimed)] == expected


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
    assert _next_offsets([_record(*p) for p in positions]) == expected
