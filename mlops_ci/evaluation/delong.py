"""DeLong's interval of ROC AUC and DeLong's paired test of two AUCs on the same rows.

ROC AUC is a rank statistic: a Poisson reweighting of rows does not reduce to a small table
(``bootstrap.py`` refuses it), but its variance has a closed form (DeLong, DeLong and
Clarke-Pearson, 1988). With ``ψ(x, y) = 1, ½, 0`` as x >, =, < y, each positive row's
*placement* is the share of negatives it outranks, ``V10 = mean_j ψ(x_i, y_j)``, and each
negative's is the share of positives that outrank it, ``V01 = mean_i ψ(x_i, y_j)``. The AUC
is the mean of either, and

    Var(AUC) = S10 / m + S01 / n

with S10, S01 the sample variances of the placements over the m positives and n negatives.
For two models scored on the same rows, the covariances of their placements give
``Var(AUC_head − AUC_base)``, and the test is the normal z test of the difference.

Streaming. A placement depends only on the row's score and the counts of positives and
negatives at each distinct score, which ``ranking.ScoreCounts`` keeps in O(distinct scores).
One model's interval needs nothing more: every row at one score has the same placement. The
paired test needs, per row, both models' placements together, so it reads the rows twice: the
first pass builds both models' counts (the accumulators do that anyway), the second looks each
row's scores up in them (``PairedDeLong.update``) and adds the products. Memory stays
O(distinct scores); the work is O(N log distinct).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation.bootstrap import Interval, check_level
from mlops_ci.evaluation.ranking import ScoreCounts
from mlops_ci.evaluation.significance import PairedResult


def _normal_quantile(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


def _p_value(z: float) -> float:
    from scipy.stats import norm

    return float(min(1.0, 2.0 * norm.sf(abs(z))))


class _Placements:
    """Each distinct score's placement as a positive (V10) and as a negative (V01)."""

    def __init__(self, counts: ScoreCounts) -> None:
        scores, pos, neg = counts.merged()
        self.scores = scores
        self.m, self.n = int(pos.sum()), int(neg.sum())
        if self.m == 0 or self.n == 0:
            raise InputError(
                "ROC AUC needs positive and negative rows; the rows hold only "
                f"{'negatives' if self.m == 0 else 'positives'}, so it has no interval."
            )
        neg_below = np.cumsum(neg) - neg  # negatives strictly below each score
        pos_above = self.m - np.cumsum(pos)  # positives strictly above each score
        self.v10 = (neg_below + 0.5 * neg) / self.n
        self.v01 = (pos_above + 0.5 * pos) / self.m
        self.pos, self.neg = pos, neg
        self.auc = float(np.dot(pos, self.v10) / self.m)

    def lookup(self, scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
        """Each row's placement: V10 for a positive row, V01 for a negative one."""
        at = np.searchsorted(self.scores, scores)
        inside = at < len(self.scores)
        if not np.all(inside) or not np.array_equal(self.scores[np.where(inside, at, 0)], scores):
            raise InputError(
                "A score in the second pass was not seen in the first; read the same rows "
                "in both passes."
            )
        return np.where(positive, self.v10[at], self.v01[at])


def _variance(values: np.ndarray, weights: np.ndarray, mean: float, count: int) -> float:
    if count < 2:
        return 0.0
    return float(np.dot(weights, (values - mean) ** 2) / (count - 1))


def auc_interval(counts: ScoreCounts, level: float = 0.95) -> Interval:
    """DeLong's normal interval of one model's ROC AUC from its score counts, clipped to
    [0, 1]. An InputError when the rows hold one class only."""
    level = check_level(level)
    p = _Placements(counts)
    variance = (
        _variance(p.v10, p.pos, p.auc, p.m) / p.m + _variance(p.v01, p.neg, p.auc, p.n) / p.n
    )
    half = _normal_quantile(level) * math.sqrt(max(variance, 0.0))
    return Interval(max(0.0, p.auc - half), min(1.0, p.auc + half), p.auc, level)


class PairedDeLong:
    """DeLong's test of ROC AUC, head − base, on the same rows: the second pass.

    Built from both models' score counts over all rows (the first pass); then every row is
    given again, in any chunks, with ``update``; ``result`` gives the difference's interval,
    the two-sided p-value and each model's interval.
    """

    def __init__(self, base: ScoreCounts, head: ScoreCounts) -> None:
        self._base, self._head = _Placements(base), _Placements(head)
        if (self._base.m, self._base.n) != (self._head.m, self._head.n):
            raise InputError(
                "The base's and the head's scores were counted on different rows "
                f"({self._base.m + self._base.n} and {self._head.m + self._head.n}); compare "
                "the two models on the same rows."
            )
        # per class (0: negatives, 1: positives): rows, Σ base, Σ head, Σ base², Σ head², Σ b·h
        self._sums = np.zeros((2, 6))

    def update(self, positive: Any, base_score: Any, head_score: Any) -> None:
        """A chunk of the rows: which are positive, and both models' scores on them."""
        truth = np.asarray(positive, dtype=bool)
        b = self._base.lookup(np.asarray(base_score, dtype=np.float64), truth)
        h = self._head.lookup(np.asarray(head_score, dtype=np.float64), truth)
        for cls, mask in ((0, ~truth), (1, truth)):
            bb, hh = b[mask], h[mask]
            self._sums[cls] += (len(bb), bb.sum(), hh.sum(), bb @ bb, hh @ hh, bb @ hh)

    def result(self, level: float = 0.95) -> PairedResult:
        level = check_level(level)
        seen = self._sums[:, 0]
        if (int(seen[1]), int(seen[0])) != (self._base.m, self._base.n):
            raise InputError(
                f"The second pass gave {int(seen.sum())} rows "
                f"({int(seen[1])} positive), the first {self._base.m + self._base.n} "
                f"({self._base.m} positive); give every row in both passes."
            )
        cov = np.zeros((2, 2, 2))  # [class][model][model]
        for cls in (0, 1):
            rows, sb, sh, sbb, shh, sbh = self._sums[cls]
            if rows < 2:
                continue
            mb, mh = sb / rows, sh / rows
            cov[cls] = [
                [(sbb - rows * mb * mb) / (rows - 1), (sbh - rows * mb * mh) / (rows - 1)],
                [(sbh - rows * mb * mh) / (rows - 1), (shh - rows * mh * mh) / (rows - 1)],
            ]
        m, n = self._base.m, self._base.n
        var = cov[1] / m + cov[0] / n  # 2 × 2: base, head
        z_level = _normal_quantile(level)
        base_auc, head_auc = self._base.auc, self._head.auc
        difference = head_auc - base_auc
        diff_var = max(float(var[0, 0] + var[1, 1] - 2 * var[0, 1]), 0.0)
        diff_sd = math.sqrt(diff_var)
        if diff_sd == 0.0:
            p_value = 1.0 if difference == 0.0 else 0.0
        else:
            p_value = _p_value(difference / diff_sd)

        def one(auc: float, variance: float) -> Interval:
            half = z_level * math.sqrt(max(variance, 0.0))
            return Interval(max(0.0, auc - half), min(1.0, auc + half), auc, level)

        half = z_level * diff_sd
        return PairedResult(
            difference=Interval(difference - half, difference + half, difference, level),
            p_value=p_value,
            base=one(base_auc, float(var[0, 0])),
            head=one(head_auc, float(var[1, 1])),
        )
