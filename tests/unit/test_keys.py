"""API keys: prefixed random secrets, stored as SHA-256 hex digests."""

import re

import pytest

from pulse_common import keys as keys_module
from pulse_common.keys import KEY_KINDS, KeyKind, hash_key, hashes_match, new_key


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [("write", "pk_write_"), ("read", "pk_read_"), ("admin", "pk_admin_")],
)
def test_new_key_prefix_and_shape(kind: KeyKind, prefix: str) -> None:
    key = new_key(kind)
    assert key.startswith(prefix)
    secret = key.removeprefix(prefix)
    # 24 random bytes, URL-safe base64 without padding: 32 characters.
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", secret), secret


def test_key_kinds() -> None:
    assert KEY_KINDS == ("write", "read", "admin")


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_new_keys_are_unique(kind: KeyKind) -> None:
    keys = {new_key(kind) for _ in range(1000)}
    assert len(keys) == 1000


@pytest.mark.parametrize(
    ("key", "digest"),
    [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
)
def test_hash_key_is_sha256_hex(key: str, digest: str) -> None:
    assert hash_key(key) == digest


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_hash_shape(kind: KeyKind) -> None:
    key = new_key(kind)
    digest = hash_key(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert hash_key(key) == digest
    assert key not in digest


@pytest.mark.parametrize(
    ("stored", "presented", "expected"),
    [
        pytest.param(hash_key("pk_read_abc"), "pk_read_abc", True, id="same-key"),
        pytest.param(hash_key("pk_read_abc"), "pk_read_abd", False, id="other-key"),
        pytest.param(hash_key("pk_read_abc"), "pk_read_abc ", False, id="trailing-space"),
        pytest.param(hash_key("pk_read_abc"), "PK_READ_ABC", False, id="case"),
        pytest.param(hash_key("pk_read_abc").upper(), "pk_read_abc", False, id="uppercase-stored-hash"),
        pytest.param("pk_read_abc", "pk_read_abc", False, id="clear-text-stored"),
        pytest.param("", "", False, id="empty-stored"),
    ],
)
def test_hashes_match(stored: str, presented: str, expected: bool) -> None:
    assert hashes_match(stored, presented) is expected


def test_fresh_keys_match_only_their_own_hash() -> None:
    write, read = new_key("write"), new_key("read")
    assert hashes_match(hash_key(write), write)
    assert not hashes_match(hash_key(write), read)


def test_key_hashes_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []

    def recording(a: str, b: str) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(keys_module.hmac, "compare_digest", recording)
    key = keys_module.new_key("read")
    assert keys_module.hashes_match(keys_module.hash_key(key), key)
    assert not keys_module.hashes_match(keys_module.hash_key(key), key + "x")
    assert len(compared) == 2  # both through hmac.compare_digest, never ==
