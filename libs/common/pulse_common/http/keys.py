"""Resolving API keys to their project, with a short cache so a revocation takes effect within seconds."""

import time
from dataclasses import dataclass

import asyncpg

from pulse_common.projects import KeyOwner, find_key_owner


@dataclass
class _Cached:
    owner: KeyOwner | None
    expires_at: float


class KeyResolver:
    def __init__(self, pool: asyncpg.Pool, *, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._cache: dict[str, _Cached] = {}

    async def resolve(self, key: str) -> KeyOwner | None:
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at > now:
            return cached.owner
        owner = await find_key_owner(self._pool, key)
        if len(self._cache) >= self._max_entries:
            self._cache.clear()
        self._cache[key] = _Cached(owner, now + self._ttl_s)
        return owner
