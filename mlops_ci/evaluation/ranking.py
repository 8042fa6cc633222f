"""Exact rank metrics in bounded memory: ROC AUC, average precision and their curves.

Every chunk's scores are reduced to their distinct values with the number of positive and of
negative rows at each (``np.unique``); the runs are merged, two of similar size at a time, into
one sorted run. Memory is O(distinct scores) (24 bytes each), the total work O(N log N), and
the results are those of ``roc_auc_score`` and ``average_precision_score`` on all rows at
once, ties included: both depend only on the counts at each distinct score.
"""

from __future__ import annotations

import numpy as np

Run = tuple[np.ndarray, np.ndarray, np.ndarray]  # ascending distinct scores, positives, negatives


def _merge(a: Run, b: Run) -> Run:
    """One sorted run of distinct scores from two: counts of shared scores added, the rest
    inserted in place (memory: the output and O(len(b)) more, no sort of the whole)."""
    a_scores, a_pos, a_neg = a
    b_scores, b_pos, b_neg = b
    at = np.searchsorted(a_scores, b_scores)
    shared = at < len(a_scores)
    shared[shared] = a_scores[at[shared]] == b_scores[shared]
    a_pos, a_neg = a_pos.copy(), a_neg.copy()
    a_pos[at[shared]] += b_pos[shared]  # indices are distinct: both runs are
    a_neg[at[shared]] += b_neg[shared]
    new, where = ~shared, at[~shared]
    return (
        np.insert(a_scores, where, b_scores[new]),
        np.insert(a_pos, where, b_pos[new]),
        np.insert(a_neg, where, b_neg[new]),
    )


class ScoreCounts:
    """Positive and negative counts at each distinct score, merged across chunks."""

    def __init__(self) -> None:
        self._runs: list[Run] = []

    def update(self, scores: np.ndarray, positive: np.ndarray) -> None:
        if len(scores) == 0:
            return
        uniques, inverse = np.unique(scores, return_inverse=True)
        inverse = inverse.reshape(-1)
        total = np.bincount(inverse, minlength=len(uniques))
        pos = np.bincount(inverse, weights=positive, minlength=len(uniques)).astype(np.int64)
        self._runs.append((uniques, pos, total - pos))
        # Merge while the newest run is at least half the one before: sizes stay geometric.
        while len(self._runs) > 1 and 2 * len(self._runs[-1][0]) >= len(self._runs[-2][0]):
            self._merge_last_two()

    def _merge_last_two(self) -> None:
        b = self._runs.pop()
        a = self._runs.pop()
        self._runs.append(_merge(a, b) if len(a[0]) >= len(b[0]) else _merge(b, a))

    def merged(self) -> Run:
        """The one sorted run of every score seen (an empty run before any)."""
        while len(self._runs) > 1:
            self._merge_last_two()
        if not self._runs:
            empty = np.empty(0, dtype=np.int64)
            return np.empty(0), empty, empty
        return self._runs[0]

    def distinct(self) -> int:
        return sum(len(run[0]) for run in self._runs)

    def roc_auc(self) -> float | None:
        """ROC AUC, ties counted half (Mann–Whitney); None with only one class present."""
        _, pos, neg = self.merged()
        n_pos, n_neg = int(pos.sum()), int(neg.sum())
        if n_pos == 0 or n_neg == 0:
            return None
        # positives strictly below each score, in exact integers
        below = np.cumsum(pos) - pos
        wins = (neg.astype(np.float64) * (n_pos - below - pos)).sum()
        ties = (neg.astype(np.float64) * pos).sum() / 2.0
        # neg at s is beaten by the positives above s: n_pos - below - pos of them
        return float((wins + ties) / (float(n_pos) * float(n_neg)))

    def _descending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Thresholds high to low with the true and false positives at or above each."""
        scores, pos, neg = self.merged()
        return scores[::-1], np.cumsum(pos[::-1]), np.cumsum(neg[::-1])

    def average_precision(self) -> float | None:
        """``average_precision_score``: sum over thresholds of Δrecall × precision.

        None without positive rows (scikit-learn returns 0.0 then, with a warning).
        """
        _, pos, _ = self.merged()
        if pos.sum() == 0:
            return None
        _, tps, fps = self._descending()
        precision = tps / (tps + fps)
        recall = tps / tps[-1]
        return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))

    def roc_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fpr, tpr, thresholds) from (0, 0) to (1, 1), as ``roc_curve`` without dropping."""
        thresholds, tps, fps = self._descending()
        n_pos, n_neg = (tps[-1], fps[-1]) if len(tps) else (0, 0)
        tpr = np.r_[0.0, tps / n_pos] if n_pos else np.r_[0.0, np.zeros(len(tps))]
        fpr = np.r_[0.0, fps / n_neg] if n_neg else np.r_[0.0, np.zeros(len(fps))]
        return fpr, tpr, np.r_[np.inf, thresholds]

    def pr_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(recall, precision, thresholds), recall rising, ending at (0, 1) as sklearn's does."""
        thresholds, tps, fps = self._descending()
        if len(tps) == 0 or tps[-1] == 0:
            return np.array([0.0]), np.array([1.0]), np.empty(0)
        precision = tps / (tps + fps)
        recall = tps / tps[-1]
        return np.r_[0.0, recall], np.r_[1.0, precision], np.r_[np.inf, thresholds]
