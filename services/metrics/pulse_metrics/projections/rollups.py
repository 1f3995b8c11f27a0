"""Exact distinct counts over any window, kept as small additive tables (product.md §4).

Counting distinct users over an arbitrary window from per-user rows costs a scan of every row; summing a counter
does not, but distinct users are not additive over days. The trick that makes them additive: link each active day
of a user to the user's previous active day. A user is active in a window ``[a, b]`` exactly when one of their
active days lies in it with the previous active day before ``a`` (the first such day), so

    distinct users active in [a, b] = number of (day, previous day) links with a <= day <= b and previous < a.

A user's first active day links to ``NEVER`` (so new users are the links to ``NEVER``). The same holds per feature.
Retention needs to know who is in which cohort, so it keeps per interval the number of users of each cohort
active in each period, and the number whose last active period is each period.

Everything here is pure: a user's contribution is a function of their set of active days, and a change is the
contribution after minus the contribution before (a deletion: minus the contribution before).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from pulse_common.periods import Interval, period_start

# The "previous active day" of a first active day; Postgres stores it as -infinity.
NEVER = date.min
# In a segment's rollups, the "previous active day" of a user's first day under the segment's value when they were
# active before under another value: before every real day (so windows count it as NEVER does) but not NEVER, as
# the user is not new. Postgres stores it as 0001-01-02.
ELSEWHERE = date(1, 1, 2)
INTERVALS: tuple[Interval, ...] = ("day", "week", "month")

Link = tuple[date, date]  # (day, previous active day)
CohortPeriod = tuple[Interval, date, date]  # (interval, cohort start, period start)


def links(days: Iterable[date], *, new: bool = True) -> list[Link]:
    """Each active day with the one before it (for the first: ``NEVER``, or ``ELSEWHERE`` when not ``new``)."""
    previous = NEVER if new else ELSEWHERE
    chain: list[Link] = []
    for day in sorted(set(days)):
        chain.append((day, previous))
        previous = day
    return chain


@functools.lru_cache(maxsize=8192)
def _period_starts(day: date) -> tuple[date, ...]:
    """The day's period start for each of ``INTERVALS`` (few distinct days: cached)."""
    return tuple(period_start(day, interval) for interval in INTERVALS)


def cohort_periods(days: Iterable[date]) -> tuple[list[CohortPeriod], list[CohortPeriod]]:
    """(the periods a user was active in, the user's last active period), per interval, under the user's cohort."""
    ordered = sorted(set(days))
    active: list[CohortPeriod] = []
    last: list[CohortPeriod] = []
    if not ordered:
        return active, last
    starts = [_period_starts(day) for day in ordered]
    for index, interval in enumerate(INTERVALS):
        cohort = starts[0][index]
        periods = sorted({s[index] for s in starts})
        active.extend((interval, cohort, p) for p in periods)
        last.append((interval, cohort, periods[-1]))
    return active, last


def days_between(first: date | None, later: date | None) -> int | None:
    return (later - first).days if first is not None and later is not None else None


def add_difference(
    counter: Counter[Any], prefix: tuple[Any, ...], before: Iterable[tuple[Any, ...]], after: Iterable[tuple[Any, ...]]
) -> None:
    """Count ``prefix + item`` once less for each item only ``before``, once more for each only ``after`` (items are
    distinct on each side): a contribution after minus before, touching only what changed, so a user with a long
    history who gains a day changes two or three keys, not all of them twice."""
    old, new = set(before), set(after)
    for item in old - new:
        counter[(*prefix, *item)] -= 1
    for item in new - old:
        counter[(*prefix, *item)] += 1


@dataclass(frozen=True)
class AdopterChange:
    """An adopter of a feature whose first active day or first use changed: both, before and after."""

    project: str
    feature: str
    distinct_id: str
    first_day_before: date | None
    first_use_before: date | None
    first_day_after: date | None
    first_use_after: date | None

    @property
    def delay_before(self) -> int | None:
        return days_between(self.first_day_before, self.first_use_before)

    @property
    def delay_after(self) -> int | None:
        return days_between(self.first_day_after, self.first_use_after)


class RollupChanges:
    """Additive changes to the rollup tables, keyed by project first."""

    def __init__(self) -> None:
        # (project, day, previous active day) -> users
        self.activity_links: Counter[tuple[str, date, date]] = Counter()
        # (project, interval, cohort, period) -> users of the cohort active in the period / last active in it
        self.cohort_active: Counter[tuple[str, Interval, date, date]] = Counter()
        self.cohort_last: Counter[tuple[str, Interval, date, date]] = Counter()
        # (project, feature, day, previous day of use) -> users
        self.feature_links: Counter[tuple[str, str, date, date]] = Counter()
        # (project, feature, day) -> events
        self.feature_events: Counter[tuple[str, str, date]] = Counter()
        # (project, feature, days from the user's first active day to their first use) -> users
        self.adoption_delays: Counter[tuple[str, str, int]] = Counter()

    def change_active_days(
        self,
        project: str,
        before: Sequence[date],
        after: Sequence[date],
        *,
        before_new: bool = True,
        after_new: bool = True,
    ) -> None:
        """A user's active days went from ``before`` to ``after`` (a deletion: to nothing). ``*_new``: whether the
        first of the days is the user's first-ever active day (always, but for a segment's share of the days); a
        user is in a cohort only then."""
        if set(before) == set(after) and before_new == after_new:
            return
        key = (project,)
        add_difference(self.activity_links, key, links(before, new=before_new), links(after, new=after_new))
        active_before, last_before = cohort_periods(before) if before_new else ([], [])
        active_after, last_after = cohort_periods(after) if after_new else ([], [])
        add_difference(self.cohort_active, key, active_before, active_after)
        add_difference(self.cohort_last, key, last_before, last_after)

    def change_feature_days(
        self,
        project: str,
        feature: str,
        before: Sequence[date],
        after: Sequence[date],
        *,
        before_new: bool = True,
        after_new: bool = True,
    ) -> None:
        """A user's days of use of a feature went from ``before`` to ``after`` (``*_new``: as for active days)."""
        if set(before) == set(after) and before_new == after_new:
            return
        add_difference(
            self.feature_links, (project, feature), links(before, new=before_new), links(after, new=after_new)
        )

    def change_adoption_delay(self, project: str, feature: str, before: int | None, after: int | None) -> None:
        """A user's days-to-adopt of a feature went from ``before`` to ``after`` (None: not an adopter)."""
        if before == after:
            return
        if before is not None:
            self.adoption_delays[(project, feature, before)] -= 1
        if after is not None:
            self.adoption_delays[(project, feature, after)] += 1


K = TypeVar("K")


def nonzero(counter: Counter[K]) -> list[tuple[K, int]]:
    """The changed keys in one lock order (every consumer writes rows sorted alike, so none deadlock)."""
    return sorted((key, n) for key, n in counter.items() if n)
