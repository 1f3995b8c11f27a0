"""median_of_counts: the median of a (value, how many) distribution sorted by value, the mean of the two middle
values on an even total (as Postgres's percentile_cont(0.5)), None when empty."""

import random
import statistics

import pytest

from pulse_metrics.queries.features import median_of_counts


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param([], None, id="empty"),
        pytest.param([(4, 0), (9, 0)], None, id="only-zero-counts"),
        pytest.param([(7, 1)], 7.0, id="single"),
        pytest.param([(1, 1), (2, 1), (10, 1)], 2.0, id="odd-total"),
        pytest.param([(1, 1), (2, 1), (3, 1), (10, 1)], 2.5, id="even-total-mean-of-middle"),
        pytest.param([(1, 2), (5, 2)], 3.0, id="even-total-middle-across-values"),
        pytest.param([(1, 3), (5, 1)], 1.0, id="even-total-middle-in-one-value"),
        pytest.param([(0, 2), (3, 0), (8, 1)], 0.0, id="zero-count-value-skipped"),
        pytest.param([(2, 1), (3, 0), (8, 1)], 5.0, id="zero-count-between-middles"),
        pytest.param([(-4, 1), (6, 1)], 1.0, id="negative-values"),
    ],
)
def test_median_of_counts(counts: list[tuple[int, int]], expected: float | None) -> None:
    assert median_of_counts(counts) == expected


def test_large_counts() -> None:
    assert median_of_counts([(1, 10**12), (2, 10**12)]) == 1.5
    assert median_of_counts([(1, 10**12), (2, 10**12 + 1)]) == 2.0
    assert median_of_counts([(1, 10**15), (2, 1), (3, 10**15)]) == 2.0
    assert median_of_counts([(0, 3), (10**18, 3)]) == 5 * 10**17


@pytest.mark.parametrize("seed", range(20))
def test_matches_statistics_median(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        values = sorted(rng.sample(range(-5, 60), rng.randint(1, 12)))
        counts = [(value, rng.choice([0, 1, 1, 2, 3, 7, 40])) for value in values]
        expanded = [value for value, n in counts for _ in range(n)]
        expected = float(statistics.median(expanded)) if expanded else None
        assert median_of_counts(counts) == expected, counts
