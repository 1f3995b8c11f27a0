"""KeyPartitioner: partition_for with a bounded memory of hashes; the memory never changes an answer."""

import random

import pytest

from pulse_common.kafka import KeyPartitioner, partition_for
from pulse_common.topics import message_key

_rng = random.Random(20260329)
KEYS = [
    b"",
    b"\x00",
    b"\xff" * 8,
    *(_rng.randbytes(n) for n in (1, 2, 3, 4, 5, 7, 8, 16, 33, 255, 1024)),
    *(message_key(project, user) for project in ("acme", "globex") for user in ("u1", "u2", "ü-ñ", "x" * 70)),
]
PARTITION_COUNTS = [1, 2, 3, 6, 12, 16, 64, 1000]


@pytest.mark.parametrize(
    ("key", "java_murmur2"),
    [
        # Kafka's own murmur2 test vectors (UtilsTest.testMurmur2, signed 32-bit as Java returns them).
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
@pytest.mark.parametrize("partition_count", [1, 3, 12, 100])
def test_matches_the_java_client(key: bytes, java_murmur2: int, partition_count: int) -> None:
    # Java: Utils.toPositive(murmur2(key)) % numPartitions.
    expected = (java_murmur2 & 0x7FFFFFFF) % partition_count
    partitioner = KeyPartitioner()
    assert partitioner(key, partition_count) == expected
    assert partitioner(key, partition_count) == expected


@pytest.mark.parametrize("partition_count", PARTITION_COUNTS)
def test_equals_partition_for(partition_count: int) -> None:
    partitioner = KeyPartitioner()
    for key in KEYS:
        assert partitioner(key, partition_count) == partition_for(key, partition_count), key
        # Asked again, from memory.
        assert partitioner(key, partition_count) == partition_for(key, partition_count), key


def test_one_memory_serves_every_partition_count() -> None:
    partitioner = KeyPartitioner()
    for key in KEYS:
        for partition_count in PARTITION_COUNTS:
            assert partitioner(key, partition_count) == partition_for(key, partition_count)


@pytest.mark.parametrize("capacity", [1, 2, 5, 10])
def test_answers_are_unchanged_after_exceeding_the_capacity(capacity: int) -> None:
    partitioner = KeyPartitioner(capacity=capacity)
    for round_ in range(3):
        for key in KEYS:
            for partition_count in (1, 7, 12):
                assert partitioner(key, partition_count) == partition_for(key, partition_count), (round_, key)


def test_capacity_zero_still_answers() -> None:
    partitioner = KeyPartitioner(capacity=0)
    assert [partitioner(key, 12) for key in KEYS] == [partition_for(key, 12) for key in KEYS]


def test_many_keys_spread_over_partitions() -> None:
    partitioner = KeyPartitioner(capacity=100)
    keys = [f"acme\x00user-{n}".encode() for n in range(2000)]
    partitions = [partitioner(key, 12) for key in keys]
    assert partitions == [partition_for(key, 12) for key in keys]
    assert set(partitions) == set(range(12))
