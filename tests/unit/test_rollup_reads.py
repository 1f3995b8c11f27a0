"""Reading the rollups: the DAU/WAU/MAU series from activity links and the retention suffix sums equal a brute-force
count over users' active days."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest

from pulse_metrics.projections.rollups import links
from pulse_metrics.queries.adoption import active_since
from pulse_metrics.queries.adoption_series import active_series

ORIGIN = date(2026, 1, 1)


def random_users(seed: int, users: int = 150, span: int = 150) -> list[set[date]]:
    rng = random.Random(seed)
    return [
        {ORIGIN + timedelta(days=rng.randrange(span)) for _ in range(int(rng.paretovariate(1.2)))} for _ in range(users)
    ]


def distinct_active(users: list[set[date]], first: date, last: date) -> int:
    return sum(1 for days in users if any(first <= d <= last for d in days))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("first_offset", "length"), [(0, 1), (0, 40), (35, 60), (120, 45), (149, 10)])
def test_the_series_equals_distinct_users_of_each_window(seed: int, first_offset: int, length: int) -> None:
    users = random_users(seed)
    counted: Counter[tuple[date, date]] = Counter(link for days in users for link in links(days))
    first = ORIGIN + timedelta(days=first_offset)
    last = first + timedelta(days=length - 1)
    # Only links no older than 29 days before the first day are read, as the query does.
    read = [(day, previous, n) for (day, previous), n in counted.items() if day >= first - timedelta(days=29)]
    series = active_series(read, first, last)
    assert [s.day for s in series] == [first + timedelta(days=i) for i in range(length)]
    for point in series:
        d = point.day
        assert point.dau == distinct_active(users, d, d)
        assert point.wau == distinct_active(users, d - timedelta(days=6), d)
        assert point.mau == distinct_active(users, d - timedelta(days=29), d)
    assert any(point.mau for point in series) or first_offset >= 149


def test_a_series_without_links_is_zero() -> None:
    assert [(s.dau, s.wau, s.mau) for s in active_series([], ORIGIN, ORIGIN + timedelta(days=2))] == [(0, 0, 0)] * 3


def test_active_since_counts_users_whose_last_period_is_not_earlier() -> None:
    starts = [ORIGIN + timedelta(days=7 * n) for n in range(4)]
    lasts = [(starts[0], 5), (starts[2], 2), (starts[3], 1), (starts[3] + timedelta(days=70), 4)]
    assert active_since(lasts, starts) == [12, 7, 7, 5]
    assert active_since([], starts) == [0, 0, 0, 0]
