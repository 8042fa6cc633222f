"""ranking.ScoreCounts: the merge of sorted runs against np.unique on all rows at once, the
rank metrics against scikit-learn's, and counts past 2**32 (uint32 widened to int64 in time)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mlops_ci.evaluation.ranking import NARROW_LIMIT, ScoreCounts, _merge


def streamed(scores: np.ndarray, y: np.ndarray, chunk: int) -> ScoreCounts:
    counts = ScoreCounts()
    for i in range(0, len(y), chunk):
        counts.update(scores[i:i + chunk], y[i:i + chunk] == 1)
    return counts


@pytest.mark.parametrize("chunk", [1, 13, 500, 5_000])
@pytest.mark.parametrize("decimals", [1, 3, None])
def test_merged_counts_equal_those_of_all_rows_at_once(chunk: int, decimals: int | None) -> None:
    rng = np.random.default_rng(chunk)
    y = rng.integers(0, 2, 5_000)
    scores = y * 0.7 + rng.normal(0, 1, 5_000)
    if decimals is not None:  # ties, within and across chunks
        scores = np.round(scores, decimals)
    counts = streamed(scores, y, chunk)
    got, pos, neg = counts.merged()
    want, inverse = np.unique(scores, return_inverse=True)
    assert np.array_equal(got, want)
    assert np.array_equal(pos, np.bincount(inverse, weights=y, minlength=len(want)))
    assert np.array_equal(pos + neg, np.bincount(inverse, minlength=len(want)))
    assert counts.count_dtype == np.uint32
    assert counts.roc_auc() == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert counts.average_precision() == pytest.approx(
        average_precision_score(y, scores), abs=1e-12
    )


def run(*columns: list[float]) -> list[np.ndarray]:
    scores, pos, neg = columns
    return [np.array(scores), np.array(pos, dtype=np.uint32), np.array(neg, dtype=np.uint32)]


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        # disjoint, b before, between and after a's scores
        (([0.2, 0.4], [1, 0], [0, 1]), ([0.1, 0.3, 0.5], [2, 0, 1], [0, 3, 0]),
         ([0.1, 0.2, 0.3, 0.4, 0.5], [2, 1, 0, 0, 1], [0, 0, 3, 1, 0])),
        # every score shared: counts added, nothing placed
        (([0.2, 0.4], [1, 0], [0, 1]), ([0.2, 0.4], [5, 6], [7, 8]),
         ([0.2, 0.4], [6, 6], [7, 9])),
        # some shared, some new, runs of new ones together
        (([0.5], [1], [1]), ([0.1, 0.2, 0.5, 0.8, 0.9], [1, 1, 1, 1, 1], [0, 0, 2, 0, 0]),
         ([0.1, 0.2, 0.5, 0.8, 0.9], [1, 1, 2, 1, 1], [0, 0, 3, 0, 0])),
    ],
)
def test_merge_places_new_scores_and_adds_shared_ones(
    a: tuple[list[float], ...], b: tuple[list[float], ...], want: tuple[list[float], ...]
) -> None:
    into = run(*a)
    _merge(into, run(*b))
    assert [x.tolist() for x in into] == [list(w) for w in want]
    assert into[1].dtype == np.uint32 and into[2].dtype == np.uint32


def test_counts_past_two_to_the_32_are_widened_before_they_overflow() -> None:
    counts = ScoreCounts()
    counts.add_run(np.array([0.5]), np.array([4_000_000_000]), np.array([0]))
    assert counts.count_dtype == np.uint32  # 4e9 rows fit
    counts.add_run(np.array([0.1]), np.array([0]), np.array([3]))  # a run kept apart
    # 4e9 more positives at 0.5: the sum, 8e9, would wrap round in uint32
    counts.add_run(np.array([0.5, 0.9]), np.array([4_000_000_000, 1]), np.array([2, 0]))
    assert counts.count_dtype == np.int64
    scores, pos, neg = counts.merged()
    assert scores.tolist() == [0.1, 0.5, 0.9]
    assert pos.tolist() == [0, 8_000_000_000, 1]
    assert neg.tolist() == [3, 2, 0]
    # exact: negatives at 0.1 lose to everything; those at 0.5 tie with 8e9, lose to 1
    n_pos, n_neg = 8_000_000_001, 5
    beaten = 3 * n_pos + 2 * (Fraction(8_000_000_000, 2) + 1)
    assert counts.roc_auc() == pytest.approx(float(beaten / (n_pos * n_neg)), rel=1e-15)


def test_widening_happens_at_the_limit_and_not_before() -> None:
    counts = ScoreCounts()
    counts.add_run(np.array([0.5]), np.array([NARROW_LIMIT - 1]), np.array([1]))
    assert counts.count_dtype == np.uint32
    counts.add_run(np.array([0.5]), np.array([1]), np.array([0]))
    assert counts.count_dtype == np.int64
    _, pos, neg = counts.merged()
    assert (int(pos[0]), int(neg[0])) == (NARROW_LIMIT, 1)


def test_sums_of_narrow_counts_do_not_wrap() -> None:
    # 1e5 positives and 1e5 negatives at each of three scores: products of 1e10 per score
    counts = ScoreCounts()
    counts.add_run(np.array([0.1, 0.5, 0.9]), np.full(3, 100_000), np.full(3, 100_000))
    assert counts.count_dtype == np.uint32
    assert counts.roc_auc() == 0.5
    y = np.repeat([1, 0, 1, 0, 1, 0], 100_000)
    s = np.repeat([0.1, 0.1, 0.5, 0.5, 0.9, 0.9], 100_000)
    assert counts.average_precision() == pytest.approx(average_precision_score(y, s), abs=1e-12)
    fpr, tpr, _ = counts.roc_points(10)
    assert fpr.tolist() == tpr.tolist() == [0.0, 1 / 3, 2 / 3, 1.0]
