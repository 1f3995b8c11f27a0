"""Per write key token buckets: events per second with a burst allowance."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimited(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class TokenBuckets:
    """``rate`` tokens per second refill each bucket up to ``burst``; a request takes one token per event."""

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, cost: int) -> None:
        """Spend ``cost`` tokens of ``key``'s bucket, or raise RateLimited with when to retry."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        # A request larger than the burst could never pass: let it through on a full bucket instead.
        needed = min(float(cost), self._burst)
        if bucket.tokens < needed:
            raise RateLimited(max(1, math.ceil((needed - bucket.tokens) / self._rate)))
        bucket.tokens -= min(float(cost), bucket.tokens)
