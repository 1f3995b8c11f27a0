"""Satisfaction scores and how sure they are (product.md §6): NPS with its margin of error, CSAT and CES shares
with Wilson intervals, and the mean score with a normal-approximation interval. Pure arithmetic on counts, so a
series, a breakdown and a total are computed alike from any grouping of responses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["nps", "csat", "ces"]
Z_95 = 1.959963984540054
# The scale of each kind and the scores counted as good (promoters, satisfied, agree).
SCALES: dict[Kind, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
GOOD_FROM: dict[Kind, int] = {"nps": 9, "csat": 4, "ces": 5}
NPS_PASSIVE_FROM = 7


def score_class(kind: Kind, score: int) -> str:
    """promoter / passive / detractor (NPS), satisfied / unsatisfied (CSAT), agree / disagree (CES)."""
    if kind == "nps":
        return "promoter" if score >= GOOD_FROM["nps"] else "passive" if score >= NPS_PASSIVE_FROM else "detractor"
    good = score >= GOOD_FROM[kind]
    if kind == "csat":
        return "satisfied" if good else "unsatisfied"
    return "agree" if good else "disagree"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Nps:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # -100..100
    margin: float | None  # 95 %, in NPS points


def nps(histogram: Mapping[int, int]) -> Nps:
    """NPS from a histogram score -> responses. Margin: 1.96 * 100 * sqrt((p + d - (p - d)^2) / n)."""
    n = sum(histogram.values())
    promoters = sum(c for s, c in histogram.items() if s >= GOOD_FROM["nps"])
    detractors = sum(c for s, c in histogram.items() if s < NPS_PASSIVE_FROM)
    passives = n - promoters - detractors
    if n == 0:
        return Nps(0, 0, 0, 0, None, None)
    p, d = promoters / n, detractors / n
    variance = max(0.0, p + d - (p - d) ** 2)
    return Nps(n, promoters, passives, detractors, 100 * (p - d), Z_95 * 100 * math.sqrt(variance / n))


def wilson(successes: int, n: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion: sound at 0 % and 100 % and for small n, unlike p +- z*se."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Share:
    """CSAT or CES: the share of good scores with its Wilson interval, and the mean score with its interval."""

    n: int
    good: int
    rate: float | None
    rate_interval: Interval | None
    mean: float | None
    mean_interval: Interval | None


def share(kind: Kind, histogram: Mapping[int, int]) -> Share:
    """CSAT (satisfied = 4-5) or CES (agree = 5-7). The mean's interval is mean +- 1.96 * s / sqrt(n) (normal
    approximation; none below two responses)."""
    n = sum(histogram.values())
    good = sum(c for s, c in histogram.items() if s >= GOOD_FROM[kind])
    if n == 0:
        return Share(0, 0, None, None, None, None)
    mean = sum(s * c for s, c in histogram.items()) / n
    interval = None
    if n >= 2:
        variance = sum(c * (s - mean) ** 2 for s, c in histogram.items()) / (n - 1)
        half = Z_95 * math.sqrt(variance / n)
        interval = Interval(mean - half, mean + half)
    return Share(n, good, good / n, wilson(good, n), mean, interval)
