"""Pure arithmetic of release health (product.md §5): rates, adoption stage, and the two-proportion test."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

ADOPTED_SHARE = 0.10
STAGE_WINDOW = timedelta(hours=6)
Z_95 = 1.959963984540054
Stage = Literal["adopted", "low", "replaced"]


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def free_rate(bad: int, whole: int) -> float | None:
    """1 - bad / whole (crash-free, healthy): None without any."""
    return 1 - bad / whole if whole else None


def stages(hourly: Mapping[str, Mapping[datetime, int]], end: datetime) -> dict[str, Stage]:
    """Stage of each release of one environment from its sessions per local hour: *adopted* with >= 10 % of the
    environment's sessions over the 6 hours before ``end``; *replaced* when it had that share over some earlier
    6 hours and no longer has; *low* otherwise. When the environment had no session in the last 6 hours (a quiet
    night), the stage is the one of the last 6 hours that had sessions: no data changes no stage."""
    hour = timedelta(hours=1)
    seen = [at for sessions in hourly.values() for at in sessions if at < end]
    if not seen:
        return {release: "low" for release in hourly}
    width = int(STAGE_WINDOW / hour)
    first = min(seen)
    size = math.ceil((end - first) / hour)
    dense = {release: [0] * size for release in hourly}
    for release, sessions in hourly.items():
        for at, n in sessions.items():
            if first <= at < end:
                dense[release][int((at - first) / hour)] += n
    windows = {release: sliding_sum(values, width) for release, values in dense.items()}
    totals = [sum(column) for column in zip(*windows.values(), strict=True)]
    now = max(i for i, total in enumerate(totals) if total)
    result: dict[str, Stage] = {}
    for release, sums in windows.items():
        shares = [part / whole if whole else 0.0 for part, whole in zip(sums, totals, strict=True)]
        if shares[now] >= ADOPTED_SHARE:
            result[release] = "adopted"
        elif any(share >= ADOPTED_SHARE for share in shares[:now]):
            result[release] = "replaced"
        else:
            result[release] = "low"
    return result


@dataclass(frozen=True)
class Comparison:
    base: float | None
    candidate: float | None
    difference: float | None
    z: float | None
    p_value: float | None
    significant: bool


METHOD = "two-proportion z-test (pooled standard error), two-sided, 95 % (|z| >= 1.96); difference = candidate - base"


def compare_proportions(base: tuple[int, int], candidate: tuple[int, int]) -> Comparison:
    """Compare two rates given as (successes, trials)."""
    (x1, n1), (x2, n2) = base, candidate
    p1, p2 = rate(x1, n1), rate(x2, n2)
    if p1 is None or p2 is None:
        return Comparison(p1, p2, None, None, None, False)
    pooled = (x1 + x2) / (n1 + n2)
    error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if error == 0:
        return Comparison(p1, p2, p2 - p1, None, None, False)
    z = (p2 - p1) / error
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(p1, p2, p2 - p1, z, p_value, abs(z) >= Z_95)


def sliding_sum(values: Sequence[int], width: int) -> list[int]:
    """Sum of each value with the ``width - 1`` before it."""
    out: list[int] = []
    total = 0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total)
    return out
