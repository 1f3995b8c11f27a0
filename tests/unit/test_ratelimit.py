"""TokenBuckets: per write key token buckets (rate per second, burst), driven by a fake clock."""

import pytest

from pulse_ingest.ratelimit import RateLimited, TokenBuckets


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _retry_after(buckets: TokenBuckets, key: str, cost: int) -> int:
    with pytest.raises(RateLimited) as caught:
        buckets.take(key, cost)
    return caught.value.retry_after_s


def test_burst_passes_at_once_then_the_next_event_is_limited() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=10, burst=20, clock=clock)
    for _ in range(20):
        buckets.take("k", 1)
    assert _retry_after(buckets, "k", 1) == 1


def test_burst_in_one_request() -> None:
    buckets = TokenBuckets(rate=10, burst=20, clock=FakeClock())
    buckets.take("k", 20)
    assert _retry_after(buckets, "k", 1) == 1


@pytest.mark.parametrize(
    ("rate", "burst", "spent", "cost", "expected"),
    [
        # retry_after_s = ceil(deficit / rate), at least 1.
        pytest.param(10, 20, 20, 1, 1, id="deficit-1-rate-10"),
        pytest.param(10, 20, 20, 10, 1, id="deficit-10-rate-10"),
        pytest.param(10, 20, 20, 11, 2, id="deficit-11-rate-10"),
        pytest.param(10, 20, 20, 20, 2, id="deficit-20-rate-10"),
        pytest.param(2, 10, 10, 5, 3, id="deficit-5-rate-2"),
        pytest.param(2, 10, 10, 4, 2, id="deficit-4-rate-2"),
        pytest.param(1, 100, 100, 100, 100, id="deficit-100-rate-1"),
        pytest.param(0.5, 10, 10, 3, 6, id="deficit-3-rate-half"),
        pytest.param(100, 50, 45, 10, 1, id="deficit-5-rate-100-at-least-1"),
        pytest.param(2, 10, 7, 5, 1, id="deficit-2-rate-2"),
        pytest.param(2, 10, 6, 5, 1, id="deficit-1-rate-2"),
        # A cost above the burst needs only a full bucket: the deficit is burst - tokens.
        pytest.param(10, 20, 20, 1000, 2, id="cost-above-burst"),
    ],
)
def test_retry_after(rate: float, burst: float, spent: int, cost: int, expected: int) -> None:
    buckets = TokenBuckets(rate=rate, burst=burst, clock=FakeClock())
    buckets.take("k", spent)
    assert _retry_after(buckets, "k", cost) == expected


def test_rate_limited_message() -> None:
    error = RateLimited(3)
    assert error.retry_after_s == 3
    assert str(error) == "rate limited; retry after 3 s"


def test_a_refused_request_spends_nothing() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=1, burst=10, clock=clock)
    buckets.take("k", 6)  # 4 left
    assert _retry_after(buckets, "k", 5) == 1
    buckets.take("k", 4)  # the 4 are still there
    assert _retry_after(buckets, "k", 1) == 1


@pytest.mark.parametrize(
    ("elapsed", "allowed"),
    [
        pytest.param(0.0, 0, id="no-time"),
        pytest.param(0.25, 2, id="quarter-second"),
        pytest.param(0.5, 4, id="half-second"),
        pytest.param(1.0, 8, id="one-second"),
        pytest.param(2.0, 16, id="two-seconds"),
        pytest.param(60.0, 16, id="capped-at-burst"),
    ],
)
def test_refill_over_time(elapsed: float, allowed: int) -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=8, burst=16, clock=clock)
    buckets.take("k", 16)
    clock.advance(elapsed)
    for _ in range(allowed):
        buckets.take("k", 1)
    with pytest.raises(RateLimited):
        buckets.take("k", 1)


def test_refill_then_retry_after_reflects_the_partial_bucket() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=2, burst=10, clock=clock)
    buckets.take("k", 10)
    clock.advance(1.5)  # 3 tokens
    assert _retry_after(buckets, "k", 9) == 3  # deficit 6 at 2/s
    clock.advance(3)  # 3 + 6 = 9 tokens
    buckets.take("k", 9)
    assert _retry_after(buckets, "k", 1) == 1


def test_buckets_are_independent_per_key() -> None:
    buckets = TokenBuckets(rate=1, burst=5, clock=FakeClock())
    buckets.take("a", 5)
    with pytest.raises(RateLimited):
        buckets.take("a", 1)
    buckets.take("b", 5)  # b's bucket is full
    with pytest.raises(RateLimited):
        buckets.take("b", 1)


def test_a_new_key_starts_full_even_much_later() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=1, burst=5, clock=clock)
    clock.advance(10_000)
    buckets.take("late", 5)
    assert _retry_after(buckets, "late", 1) == 1


@pytest.mark.parametrize("cost", [21, 100, 10_000])
def test_a_cost_above_the_burst_passes_on_a_full_bucket_and_empties_it(cost: int) -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=10, burst=20, clock=clock)
    buckets.take("k", cost)
    assert _retry_after(buckets, "k", 1) == 1
    # It needs a full bucket again: 2 s at 10/s.
    clock.advance(1)
    assert _retry_after(buckets, "k", cost) == 1
    clock.advance(1)
    buckets.take("k", cost)


def test_a_cost_above_the_burst_is_refused_on_a_partial_bucket() -> None:
    buckets = TokenBuckets(rate=10, burst=20, clock=FakeClock())
    buckets.take("k", 1)
    assert _retry_after(buckets, "k", 50) == 1


def test_zero_cost_always_passes() -> None:
    buckets = TokenBuckets(rate=1, burst=1, clock=FakeClock())
    buckets.take("k", 1)
    buckets.take("k", 0)
    buckets.take("k", 0)


def test_max_keys_clears_the_table() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=1, burst=3, clock=clock, max_keys=2)
    buckets.take("a", 3)
    buckets.take("b", 3)
    with pytest.raises(RateLimited):
        buckets.take("a", 1)
    # A third key finds the table full: it is cleared, so "a" and "b" start over with full buckets.
    buckets.take("c", 3)
    buckets.take("a", 3)
    # "a" joining made the table hold 2 keys again ("c", "a"): "b" clears it once more.
    buckets.take("b", 3)
    buckets.take("c", 3)


def test_known_keys_do_not_clear_the_table() -> None:
    buckets = TokenBuckets(rate=1, burst=3, clock=FakeClock(), max_keys=2)
    buckets.take("a", 3)
    buckets.take("b", 1)
    buckets.take("b", 1)  # "b" is known: no clearing, "a" stays empty
    with pytest.raises(RateLimited):
        buckets.take("a", 1)
