"""partition_for: the partition Kafka's default (murmur2) partitioner picks, as aiokafka and the Java client do."""

import random
import ssl
from collections import Counter

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from pulse_common.kafka import KeyPartitioner, connection_options, partition_for
from pulse_common.settings import CommonSettings
from pulse_common.topics import TOPIC_SPECS, TopicSpec, message_key

_rng = random.Random(20260301)
RANDOM_KEYS = [_rng.randbytes(n) for n in (*range(0, 17), 31, 32, 33, 100, 255, 1024) for _ in range(3)]
TEXT_KEYS = [
    message_key(project, user) for project in ("acme", "globex", "a") for user in ("u1", "u2", "ü-ñ", "x" * 70)
]
KEYS = [*RANDOM_KEYS, *TEXT_KEYS, b"", b"\x00", b"\xff" * 4, b"\x80\x00\x00\x00"]
PARTITION_COUNTS = [1, 2, 3, 4, 7, 8, 12, 16, 31, 64, 100, 1000]


def _aiokafka(key: bytes, count: int) -> int:
    partitions = list(range(count))
    return int(DefaultPartitioner()(key, partitions, partitions))


@pytest.mark.parametrize("count", PARTITION_COUNTS)
def test_matches_aiokafka_default_partitioner(count: int) -> None:
    for key in KEYS:
        assert partition_for(key, count) == _aiokafka(key, count), key


@pytest.mark.parametrize("spec", TOPIC_SPECS, ids=lambda s: s.name)
def test_matches_aiokafka_for_pulse_topics(spec: TopicSpec) -> None:
    partitions = spec.partitions
    for key in TEXT_KEYS:
        assert partition_for(key, partitions) == _aiokafka(key, partitions)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # murmur2 values from Kafka's Java UtilsTest (-973932308, -790332482, ...) & 0x7fffffff, modulo 8 and 12.
        (b"21", (4, 0)),
        (b"foobar", (6, 6)),
        (b"a-little-bit-long-string", (0, 8)),
        (b"a-little-bit-longer-string", (3, 11)),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", (5, 5)),
        (b"abc", (3, 3)),
    ],
)
def test_golden_partitions_of_the_java_client(key: bytes, expected: tuple[int, int]) -> None:
    assert (partition_for(key, 8), partition_for(key, 12)) == expected


@pytest.mark.parametrize("count", PARTITION_COUNTS)
def test_in_range_and_stable(count: int) -> None:
    first = [partition_for(key, count) for key in KEYS]
    assert all(0 <= p < count for p in first)
    assert [partition_for(key, count) for key in KEYS] == first


def test_one_partition_is_always_zero() -> None:
    assert {partition_for(key, 1) for key in KEYS} == {0}


def test_users_spread_evenly_over_partitions() -> None:
    counts = Counter(partition_for(message_key("acme", f"user-{i}"), 8) for i in range(1000))
    assert set(counts) == set(range(8))
    assert all(90 <= n <= 160 for n in counts.values()), counts


def test_plaintext_clients_carry_no_credentials() -> None:
    options = connection_options(CommonSettings(kafka_bootstrap="k:9092"))
    assert options == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}


def test_scram_over_tls_uses_the_users_password_and_the_cluster_ca() -> None:
    settings = CommonSettings(
        kafka_bootstrap="pulse-kafka-bootstrap:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="pulse-ingest",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    options = connection_options(settings)
    assert (options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "SCRAM-SHA-512",
        "pulse-ingest",
        "s3cret",
    )
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert "s3cret" not in repr(settings)


def test_sasl_without_credentials_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="kafka_sasl_username"):
        CommonSettings(kafka_security_protocol="SASL_SSL")


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.binary(max_size=12), max_size=40),
    partitions=st.lists(st.integers(0, 30), min_size=1, max_size=8, unique=True).map(sorted),
    capacity=st.integers(1, 5),
)
def test_grouping_by_partition_agrees_with_partition_for(
    keys: list[bytes], partitions: list[int], capacity: int
) -> None:
    partitioner = KeyPartitioner(capacity)  # small: the memory is cleared while grouping
    messages = [(key, str(n).encode()) for n, key in enumerate(keys)]
    grouped = partitioner.group(messages, partitions)
    expected: dict[int, list[tuple[bytes, bytes]]] = {}
    for message in messages:
        expected.setdefault(partitions[partition_for(message[0], len(partitions))], []).append(message)
    assert grouped == expected
    assert all(partitioner(key, len(partitions)) == partition_for(key, len(partitions)) for key in keys)
