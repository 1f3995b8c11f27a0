"""Packed term counts: packing round trips, window sums and the vectorised z agree with the scalar definition."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from pulse_feedback.term_vectors import leading_ids, log_odds_z, pack, sum_days
from pulse_feedback.themes import top_terms, weighted_log_odds


def test_packed_days_and_loose_counts_sum_per_side_and_term() -> None:
    day1 = pack([(1, 2, 0, 1), (3, 0, 5, 0)])
    day2 = pack([(3, 1, 1, 1), (4, 0, 0, 7)])
    counts = sum_days([day1, day2], [(1, 0, 10), (6, 2, 1)], size=7)
    assert counts.tolist() == [
        [0, 12, 0, 1, 0, 0, 0],  # bad
        [0, 0, 0, 6, 0, 0, 0],  # neutral
        [0, 1, 0, 1, 7, 0, 1],  # good
    ]


def test_an_empty_day_packs_to_empty_arrays() -> None:
    assert pack([]) == (b"", b"", b"", b"")
    assert sum_days([pack([])], [], size=2).tolist() == [[0, 0], [0, 0], [0, 0]]


def test_packed_arrays_are_int4_little_endian() -> None:
    ids, bad, neutral, good = pack([(258, 1, 2, 70000)])
    assert ids == (258).to_bytes(4, "little")
    assert (bad, neutral, good) == tuple(v.to_bytes(4, "little") for v in (1, 2, 70000))


@pytest.mark.parametrize("seed", range(20))
def test_candidates_then_exact_scores_equal_scoring_every_term(seed: int) -> None:
    """What the themes route does (z for every id, candidates, scalar scores with the window's totals) lists the
    same terms with the same figures as the scalar definition over the whole vocabulary."""
    rng = random.Random(seed)
    size = rng.randrange(2, 300)
    sides = [Counter({i: rng.choice((0, 0, 1, 2, 3, 5, 40)) for i in range(1, size)}) for _ in range(3)]
    rows = [(i, sides[0][i], sides[1][i], sides[2][i]) for i in range(1, size)]
    counts = sum_days([pack(rows)], [], size=size)
    bad, good, prior = counts[0], counts[2], counts.sum(axis=0)
    limit, min_count = rng.choice((1, 5, 15)), rng.choice((1, 3))

    names = {i: f"t{i}" for i in range(size)}
    every = weighted_log_odds(
        {names[i]: int(bad[i]) for i in range(size)},
        {names[i]: int(good[i]) for i in range(size)},
        {names[i]: int(prior[i]) for i in range(size)},
    )
    z = log_odds_z(bad, good, prior)
    candidates = {int(i) for i in (*leading_ids(z, bad, limit=limit, min_count=min_count),)}
    candidates |= {int(i) for i in leading_ids(-z, good, limit=limit, min_count=min_count)}
    some = weighted_log_odds(
        {names[i]: int(bad[i]) for i in candidates},
        {names[i]: int(good[i]) for i in candidates},
        {names[i]: int(prior[i]) for i in candidates},
        totals=(int(bad.sum()), int(good.sum()), int(prior.sum())),
    )
    assert top_terms(some, limit=limit, min_count=min_count) == top_terms(every, limit=limit, min_count=min_count)
    for term, score in every.items():
        assert z[int(term[1:])] == pytest.approx(score.z, rel=1e-12)


def test_ties_at_the_boundary_are_all_candidates() -> None:
    z = np.array([np.nan, 2.0, 1.0, 1.0, 1.0, -3.0])
    counts = np.array([0, 5, 5, 5, 5, 5], dtype=np.int64)
    assert sorted(leading_ids(z, counts, limit=2, min_count=1).tolist()) == [1, 2, 3, 4]
    assert leading_ids(z, counts, limit=2, min_count=6).tolist() == []
    assert leading_ids(-z, counts, limit=3, min_count=1).tolist() == [5]


def test_terms_the_scalar_definition_skips_have_no_z() -> None:
    # One term only: nothing to compare it against (the scalar function skips it).
    z = log_odds_z(np.array([0, 4]), np.array([0, 2]), np.array([0, 6]))
    assert np.isnan(z).all()
