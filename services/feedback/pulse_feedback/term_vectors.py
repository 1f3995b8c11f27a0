"""Packed term counts (pure): a day's comments per term id and side as int4 little-endian arrays, and the sum of a
window's days as one dense count matrix indexed by term id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

SIDES = ("bad", "neutral", "good")
_INT4 = np.dtype("<i4")

Counts = npt.NDArray[np.int64]  # shape (3, terms): comments per side (SIDES order) and term id


def pack(rows: Sequence[tuple[int, int, int, int]]) -> tuple[bytes, bytes, bytes, bytes]:
    """(term id, bad, neutral, good) rows -> the four packed arrays of a day."""
    table = np.array(rows, dtype=_INT4).reshape(-1, 4)
    ids, bad, neutral, good = (np.ascontiguousarray(table[:, column]).tobytes() for column in range(4))
    return ids, bad, neutral, good


def sum_days(
    packed: Iterable[tuple[bytes, bytes, bytes, bytes]], loose: Iterable[tuple[int, int, int]], size: int
) -> Counts:
    """Sum packed days and loose (term id, side index, comments) counts into a (3, size) matrix."""
    total = np.zeros((3, size), dtype=np.int64)
    days = list(packed)
    if days:
        # One bincount per side over every day at once: one per day and side allocated a term-sized array 90
        # times for a 30-day read (a quarter of its time).
        ids = np.concatenate([np.frombuffer(day[0], dtype=_INT4) for day in days])
        for index in range(3):
            weights = np.concatenate([np.frombuffer(day[index + 1], dtype=_INT4) for day in days])
            total[index] += np.bincount(ids, weights=weights, minlength=size).astype(np.int64)
    for term_id, side_index, comments in loose:
        total[side_index, term_id] += comments
    return total


def log_odds_z(side: Counts, other: Counts, prior: Counts) -> npt.NDArray[np.float64]:
    """z of the weighted log-odds (themes.weighted_log_odds) for every term id at once; NaN where that function
    skips the term. Used to choose candidates, whose scores are then computed exactly by the scalar function."""
    n_i, n_j, a_0 = int(side.sum()), int(other.sum()), int(prior.sum())
    a = prior.astype(np.float64)
    y_i, y_j = side.astype(np.float64), other.astype(np.float64)
    rest_i, rest_j = n_i + a_0 - y_i - a, n_j + a_0 - y_j - a
    valid = (a > 0) & (rest_i > 0) & (rest_j > 0)
    z = np.full(a.shape, np.nan)
    a, y_i, y_j, rest_i, rest_j = a[valid], y_i[valid], y_j[valid], rest_i[valid], rest_j[valid]
    delta = np.log((y_i + a) / rest_i) - np.log((y_j + a) / rest_j)
    z[valid] = delta / np.sqrt(1 / (y_i + a) + 1 / (y_j + a))
    return z


def leading_ids(z: npt.NDArray[np.float64], counts: Counts, *, limit: int, min_count: int) -> npt.NDArray[np.intp]:
    """Ids of the terms with positive z seen at least ``min_count`` times whose z is among the ``limit`` highest,
    ties at the boundary (within rounding) included, so an exact re-scoring and sort picks the same terms."""
    eligible = np.flatnonzero((z > 0) & (counts >= min_count))
    if len(eligible) <= limit:
        return eligible
    cutoff = float(np.partition(z[eligible], len(eligible) - limit)[len(eligible) - limit])
    chosen: npt.NDArray[np.intp] = eligible[z[eligible] >= cutoff - 1e-9 * max(1.0, abs(cutoff))]
    return chosen
