"""The adoption figures the queries answer, whichever way they are computed (rollups, or rows for a segment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from pulse_common.periods import Interval, shift_period


@dataclass(frozen=True)
class ActiveUsers:
    day: date
    dau: int
    wau: int
    mau: int


@dataclass(frozen=True)
class Lifecycle:
    period: date
    next_period: date
    new: int
    returning: int
    resurrecting: int
    dormant: int

    @classmethod
    def of_counts(
        cls, start: date, interval: Interval, active: int, previous: int, returning: int, new: int
    ) -> Lifecycle:
        """From users active in the period, in the previous one, in both, and new in the period."""
        return cls(
            period=start,
            next_period=shift_period(start, interval, 1),
            new=new,
            returning=returning,
            # Active now but not before: new users, or users coming back.
            resurrecting=active - returning - new,
            dormant=-(previous - returning),
        )


@dataclass(frozen=True)
class Cohort:
    start: date
    size: int
    # Per period offset 0..N: (the period's start, users active in it, users active in it or any later period)
    periods: list[tuple[date, int, int]]


@dataclass(frozen=True)
class FeatureSummary:
    feature: str
    users: int
    events: int
    active_users: int
    adopters_total: int
    median_days_to_adopt: float | None


@dataclass(frozen=True)
class FeaturePeriod:
    period: date
    next_period: date
    users: int
    events: int
    active_users: int
    new_adopters: int

    @classmethod
    def of_row(cls, row: asyncpg.Record, interval: Interval) -> FeaturePeriod:
        """From a query row with ``start``, ``users``, ``events``, ``active_users`` and ``new_adopters``."""
        start = row["start"]
        return cls(
            start,
            shift_period(start, interval, 1),
            row["users"],
            row["events"],
            row["active_users"],
            row["new_adopters"],
        )
