"""The figures a satisfaction read answers with, from a histogram score -> responses (pure): the score with its 95 %
interval, the counts per class and the mean. One shape for the window, each period of a series and each group of a
breakdown, so they are computed alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pulse_common.periods import Interval, period_start
from pulse_feedback.scores import Kind, nps, share

DEFINITIONS: dict[Kind, dict[str, str]] = {
    "nps": {
        "score": "nps.v1: 100 * (promoters (9-10) - detractors (0-6)) / n, from -100 to 100",
        "margin": "nps_margin.v1: 95 %: 1.96 * 100 * sqrt((p + d - (p - d)^2) / n), p and d the promoter and "
        "detractor shares; low and high = score -+ margin, within -100..100",
        "mean": "mean_score.v1: the mean score (0-10) with a 95 % normal interval (mean -+ 1.96 s / sqrt(n))",
    },
    "csat": {
        "score": "csat.v1: 100 * satisfied (4-5 of 1-5) / n",
        "interval": "wilson.v1: 95 % Wilson score interval of the satisfied share, in percent",
        "mean": "mean_score.v1: the mean score (1-5) with a 95 % normal interval (mean -+ 1.96 s / sqrt(n))",
    },
    "ces": {
        "score": "ces.v1: 100 * agree (5-7 of 1-7) / n",
        "interval": "wilson.v1: 95 % Wilson score interval of the agree share, in percent",
        "mean": "mean_score.v1: the mean score (1-7) with a 95 % normal interval (mean -+ 1.96 s / sqrt(n))",
    },
}
CLASS_NAMES: dict[Kind, tuple[str, ...]] = {
    "nps": ("promoters", "passives", "detractors"),
    "csat": ("satisfied", "unsatisfied"),
    "ces": ("agree", "disagree"),
}


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def figures(kind: Kind, histogram: Mapping[int, int]) -> dict[str, Any]:
    """n, the counts per class, score, margin (NPS) or interval, and the mean with its interval."""
    mean = share(kind, histogram)  # the mean and its interval are computed alike for every kind
    result: dict[str, Any] = {"n": mean.n}
    if kind == "nps":
        score = nps(histogram)
        result |= {"promoters": score.promoters, "passives": score.passives, "detractors": score.detractors}
        low = high = None
        if score.score is not None and score.margin is not None:
            low, high = max(-100.0, score.score - score.margin), min(100.0, score.score + score.margin)
        result |= {"score": _rounded(score.score), "margin": _rounded(score.margin)}
        result |= {"low": _rounded(low), "high": _rounded(high)}
    else:
        good, bad = CLASS_NAMES[kind]
        result |= {good: mean.good, bad: mean.n - mean.good}
        result["score"] = _rounded(None if mean.rate is None else 100 * mean.rate)
        interval = mean.rate_interval
        result |= {
            "low": _rounded(None if interval is None else 100 * interval.low),
            "high": _rounded(None if interval is None else 100 * interval.high),
        }
    result["mean"] = _rounded(mean.mean, 3)
    result["mean_low"] = _rounded(mean.mean_interval.low if mean.mean_interval else None, 3)
    result["mean_high"] = _rounded(mean.mean_interval.high if mean.mean_interval else None, 3)
    return result


def columns(kind: Kind) -> tuple[str, ...]:
    """The figure fields of ``kind`` in answer order (CSV columns)."""
    return tuple(figures(kind, {}))


def by_period(day_counts: Iterable[tuple[date, int, int]], interval: Interval) -> dict[date, Counter[int]]:
    """(local day, score, responses) rows -> per period start, the histogram of scores."""
    periods: dict[date, Counter[int]] = {}
    for day, score, responses in day_counts:
        periods.setdefault(period_start(day, interval), Counter())[score] += responses
    return periods
