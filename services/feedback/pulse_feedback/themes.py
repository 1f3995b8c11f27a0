"""Themes (pure): the terms most over-represented on one side of a comparison (detractors vs promoters, unsatisfied
vs satisfied), by the weighted log-odds ratio with an informative Dirichlet prior of Monroe, Colaresi & Quinn (2008,
"Fightin' Words", eq. 22).

For term w with y_i, y_j comments containing it on sides i and j, n_i, n_j the sides' total term counts and a prior
alpha_w (alpha_0 = sum of alpha):
    delta_w = log((y_i + a_w) / (n_i + a_0 - y_i - a_w)) - log((y_j + a_w) / (n_j + a_0 - y_j - a_w))
    var(delta_w) ~= 1 / (y_i + a_w) + 1 / (y_j + a_w);   z_w = delta_w / sqrt(var)
The prior is the background: every comment of the kind in the window, whatever its score (alpha_w = its count of
w), which shrinks rare terms towards "no difference" so a word seen twice cannot top the list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TermScore:
    term: str
    delta: float  # log-odds ratio of side i over side j
    z: float  # delta over its standard deviation
    count: int  # comments on side i with the term
    other_count: int  # comments on side j with the term


def weighted_log_odds(
    side: Mapping[str, int],
    other: Mapping[str, int],
    prior: Mapping[str, int],
    totals: tuple[int, int, int] | None = None,
) -> dict[str, TermScore]:
    """Every term with a positive prior, scored for ``side`` against ``other`` (positive z: over-represented in
    ``side``). ``totals`` (n_i, n_j, alpha_0), when given, are those of a larger vocabulary than the terms passed:
    the candidates of a window are scored as if every term were there."""
    n_i, n_j, a_0 = totals or (sum(side.values()), sum(other.values()), sum(prior.values()))
    scores: dict[str, TermScore] = {}
    for term, a_w in prior.items():
        if a_w <= 0:
            continue
        y_i, y_j = side.get(term, 0), other.get(term, 0)
        rest_i, rest_j = n_i + a_0 - y_i - a_w, n_j + a_0 - y_j - a_w
        if rest_i <= 0 or rest_j <= 0:
            continue  # the window has no other term: nothing to compare this one against
        delta = math.log((y_i + a_w) / rest_i) - math.log((y_j + a_w) / rest_j)
        z = delta / math.sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))
        scores[term] = TermScore(term, delta, z, y_i, y_j)
    return scores


def top_terms(
    scores: Mapping[str, TermScore], *, limit: int, min_count: int
) -> tuple[list[TermScore], list[TermScore]]:
    """The ``limit`` terms most over-represented on each side (highest z first), each seen in at least
    ``min_count`` comments of the side it leans to."""
    leaning_side = sorted(
        (s for s in scores.values() if s.z > 0 and s.count >= min_count), key=lambda s: (-s.z, s.term)
    )
    leaning_other = sorted(
        (s for s in scores.values() if s.z < 0 and s.other_count >= min_count), key=lambda s: (s.z, s.term)
    )
    return leaning_side[:limit], leaning_other[:limit]
