"""identity.uuid5: Pulse's fast UUIDv5 is the standard library's uuid.uuid5, bit for bit."""

import random
import uuid

import pytest

from pulse_common.identity import EVENT_ID_NAMESPACE, uuid5

_rng = random.Random(5)
NAMES = [
    "",
    "a",
    "acme\x00msg-1",
    "acme\x00feedback\x00fb-1",
    "acme\x00session\x00s-1\x002026-03-01T11:30:00+00:00\x00ok\x000\x00True",
    "ünïcödé-✓",
    "日本語のメッセージ",
    "emoji 🎉🚀",
    "\x00",
    "\x00\x00\x00",
    " ",
    "\n\t\r",
    "x" * 55,
    "x" * 56,
    "x" * 64,
    "x" * 10_000,
    "Ω" * 1000,
    "\U0010ffff",
    *("".join(chr(_rng.randint(1, 0xD7FF)) for _ in range(_rng.randint(0, 40))) for _ in range(50)),
]
NAMESPACES = [
    EVENT_ID_NAMESPACE,
    uuid.NAMESPACE_DNS,
    uuid.NAMESPACE_URL,
    uuid.NAMESPACE_OID,
    uuid.NAMESPACE_X500,
    uuid.UUID(int=0),
    uuid.UUID(int=(1 << 128) - 1),
]


@pytest.mark.parametrize("namespace", NAMESPACES, ids=str)
def test_equals_the_standard_library(namespace: uuid.UUID) -> None:
    for name in NAMES:
        assert uuid5(namespace, name) == uuid.uuid5(namespace, name), name


@pytest.mark.parametrize("name", ["", "acme\x00msg-1", "ünïcödé-✓"])
def test_version_and_variant(name: str) -> None:
    value = uuid5(EVENT_ID_NAMESPACE, name)
    assert value.version == 5
    assert value.variant == uuid.RFC_4122


@pytest.mark.parametrize(
    ("namespace", "name", "expected"),
    [
        # Well-known value: uuid5(NAMESPACE_DNS, "python.org").
        (uuid.NAMESPACE_DNS, "python.org", uuid.UUID("886313e1-3b8a-5372-9b90-0c9aee199e5d")),
        (EVENT_ID_NAMESPACE, "acme\x00msg-1", uuid.UUID("be4563be-3711-5803-b0be-de904fd56d98")),
    ],
)
def test_golden_values(namespace: uuid.UUID, name: str, expected: uuid.UUID) -> None:
    assert uuid5(namespace, name) == expected
