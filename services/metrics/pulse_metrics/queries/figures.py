"""The adoption figures the queries answer, whichever way they are computed (rollups, or rows for a segment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
