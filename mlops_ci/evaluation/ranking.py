"""Exact rank metrics in bounded memory: ROC AUC, average precision and their curves.

Every chunk's scores are reduced to their distinct values with the number of positive and of
negative rows at each (``np.unique``); the runs are merged, two of similar size at a time, into
one sorted run. Memory is O(distinct scores), the total work O(N log N), and the results are
those of ``roc_auc_score`` and ``average_precision_score`` on all rows at once, ties included:
both depend only on the counts at each distinct score.

The counts are uint32 (16 bytes per distinct score with its float64 score) while every count
fits: no count exceeds the rows seen, so once those pass 2**32 - 1 every run is widened to
int64 (24 bytes) before the chunk that would overflow is added. Sums over the counts (the AUC's,
the curves' cumulative counts) are taken in int64 either way.
"""

from __future__ import annotations

import numpy as np

Run = tuple[np.ndarray, np.ndarray, np.ndarray]  # ascending distinct scores, positives, negatives

NARROW_LIMIT = int(np.iinfo(np.uint32).max)  # the most rows uint32 counts are kept for


def _merge(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    """Merge the sorted run *b* into *a* (lists [scores, positives, negatives], one count
    dtype), in place: counts of shared scores added, the rest placed in order. Each array of
    *a* is replaced as soon as its merged copy is built, so the extra memory is one array of
    the output and O(len(b))."""
    at = np.searchsorted(a[0], b[0])
    shared = at < len(a[0])
    shared[shared] = a[0][at[shared]] == b[0][shared]
    a[1][at[shared]] += b[1][shared]  # indices are distinct: both runs are
    a[2][at[shared]] += b[2][shared]
    new = ~shared
    if not new.any():
        return
    # b's new scores go to their insertion points, shifted by the new scores before them;
    # a's scores fill the other places in order (``at`` is sorted, as b is).
    placed = at[new]
    placed += np.arange(len(placed))
    del at, shared
    keep = np.ones(len(a[0]) + len(placed), dtype=bool)
    keep[placed] = False
    for i in range(3):
        out = np.empty(len(keep), dtype=a[i].dtype)
        out[placed] = b[i][new]
        out[keep] = a[i]
        a[i] = out
        del out
        b[i] = b[i][:0]


class ScoreCounts:
    """Positive and negative counts at each distinct score, merged across chunks."""

    def __init__(self) -> None:
        self._runs: list[list[np.ndarray]] = []  # [scores, positives, negatives], sorted
        self._rows = 0
        self._count_dtype: type[np.integer] = np.uint32

    @property
    def count_dtype(self) -> np.dtype:
        """The dtype the counts are held in: uint32 until the rows pass 2**32 - 1, then int64."""
        return np.dtype(self._count_dtype)

    def update(self, scores: np.ndarray, positive: np.ndarray) -> None:
        if len(scores) == 0:
            return
        uniques, inverse = np.unique(scores, return_inverse=True)
        inverse = inverse.reshape(-1)
        total = np.bincount(inverse, minlength=len(uniques))
        pos = np.bincount(inverse[np.asarray(positive, dtype=bool)], minlength=len(uniques))
        del inverse
        total -= pos
        self.add_run(uniques, pos, total)

    def add_run(self, scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> None:
        """Add counts directly: *scores* ascending and distinct, with the positive and negative
        rows at each (non-negative whole numbers)."""
        if len(scores) == 0:
            return
        self._rows += int(np.sum(positives, dtype=np.int64)) + int(
            np.sum(negatives, dtype=np.int64)
        )
        if self._rows > NARROW_LIMIT and self._count_dtype is not np.int64:
            self._count_dtype = np.int64
            for run in self._runs:
                run[1], run[2] = run[1].astype(np.int64), run[2].astype(np.int64)
        kind = self._count_dtype
        self._runs.append([scores, positives.astype(kind), negatives.astype(kind)])
        # Merge while the newest run is at least half the one before: sizes stay geometric.
        while len(self._runs) > 1 and 2 * len(self._runs[-1][0]) >= len(self._runs[-2][0]):
            self._merge_last_two()

    def _merge_last_two(self) -> None:
        b = self._runs.pop()
        a = self._runs.pop()
        if len(a[0]) < len(b[0]):
            a, b = b, a
        _merge(a, b)
        del b
        self._runs.append(a)

    def merged(self) -> Run:
        """The one sorted run of every score seen (an empty run before any); the counts in
        :attr:`count_dtype`."""
        while len(self._runs) > 1:
            self._merge_last_two()
        if not self._runs:
            empty = np.empty(0, dtype=self._count_dtype)
            return np.empty(0), empty, empty
        scores, pos, neg = self._runs[0]
        return scores, pos, neg

    def distinct(self) -> int:
        return sum(len(run[0]) for run in self._runs)

    def roc_auc(self) -> float | None:
        """ROC AUC, ties counted half (Mann–Whitney); None with only one class present.

        In exact integers: each negative at score s is beaten by the positives above s and
        ties with the positives at s (int64 holds the sums up to billions of rows).
        """
        _, pos, neg = self.merged()
        n_pos, n_neg = _total(pos), _total(neg)
        if n_pos == 0 or n_neg == 0:
            return None
        # 2 × (positives strictly above each score) + positives at it, in one int64 array
        twice = np.cumsum(pos, dtype=np.int64)
        np.subtract(n_pos, twice, out=twice)
        twice *= 2
        twice += pos
        return int(np.dot(neg, twice)) / (2 * n_pos * n_neg)

    def average_precision(self) -> float | None:
        """``average_precision_score``: sum over thresholds of Δrecall × precision, that is
        of (positives at the threshold / all positives) × precision at it.

        None without positive rows (scikit-learn returns 0.0 then, with a warning).
        """
        _, pos, neg = self.merged()
        n_pos = _total(pos)
        if n_pos == 0:
            return None
        tps = np.cumsum(pos[::-1], dtype=np.int64)  # thresholds high to low
        flagged = np.cumsum(neg[::-1], dtype=np.int64)
        flagged += tps
        precision = np.divide(tps, flagged, dtype=np.float64)
        return float(np.dot(pos[::-1], precision) / n_pos)

    def _descending(self, max_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At most *max_points* points of the curve from the highest threshold down, the
        origin first: (thresholds, true positives, false positives) at or above each; the
        origin's threshold is infinite (``roc_curve``'s first)."""
        scores, pos, neg = self.merged()
        tps = np.cumsum(pos[::-1], dtype=np.int64)
        fps = np.cumsum(neg[::-1], dtype=np.int64)
        picked = thin(len(scores) + 1, max_points)
        at = np.maximum(picked - 1, 0)
        origin = picked == 0
        if len(scores) == 0:
            return np.array([np.inf]), np.zeros(1, np.int64), np.zeros(1, np.int64)
        return (
            np.where(origin, np.inf, scores[::-1][at]),
            np.where(origin, 0, tps[at]),
            np.where(origin, 0, fps[at]),
        )

    def roc_points(self, max_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fpr, tpr, thresholds) from (0, 0) to (1, 1), as ``roc_curve`` without dropping
        (thinned to *max_points*, the ends kept)."""
        _, pos, neg = self.merged()
        n_pos, n_neg = _total(pos), _total(neg)
        thresholds, tps, fps = self._descending(max_points)
        tpr = tps / n_pos if n_pos else np.zeros(len(tps))
        fpr = fps / n_neg if n_neg else np.zeros(len(fps))
        return fpr, tpr, thresholds

    def pr_points(self, max_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(recall, precision, thresholds), recall rising from (0, 1), as
        ``precision_recall_curve`` in reverse (thinned to *max_points*, the ends kept)."""
        _, pos, _ = self.merged()
        n_pos = _total(pos)
        if n_pos == 0:
            return np.array([0.0]), np.array([1.0]), np.array([np.inf])
        thresholds, tps, fps = self._descending(max_points)
        flagged = tps + fps
        precision = np.where(flagged == 0, 1.0, tps / np.maximum(flagged, 1))
        return tps / n_pos, precision, thresholds


def _total(counts: np.ndarray) -> int:
    return int(np.sum(counts, dtype=np.int64))


def thin(length: int, max_points: int) -> np.ndarray:
    """At most *max_points* indices into a curve of *length* points, evenly spread, the first
    and the last included."""
    if length <= max_points:
        return np.arange(length)
    return np.unique(np.round(np.linspace(0, length - 1, max_points)).astype(np.int64))
