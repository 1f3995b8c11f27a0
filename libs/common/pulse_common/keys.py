"""API keys: random secrets shown once, stored only as SHA-256 hashes.

A key has 192 random bits, so a fast hash is enough (no password stretching needed) and lets a lookup by hash
stand in for a comparison of secrets; the final check is still constant-time.
"""

import hashlib
import hmac
import secrets
from typing import Literal

KeyKind = Literal["write", "read", "admin"]
KEY_KINDS: tuple[KeyKind, ...] = ("write", "read", "admin")
_PREFIX: dict[KeyKind, str] = {"write": "pk_write_", "read": "pk_read_", "admin": "pk_admin_"}


def new_key(kind: KeyKind) -> str:
    return _PREFIX[kind] + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hashes_match(stored_hash: str, presented_key: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_key(presented_key))
