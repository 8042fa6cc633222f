"""Metrics from sufficient statistics: pure, vectorised, element-wise.

Every function takes numpy arrays of any (broadcastable) shape and returns arrays of that
shape, one metric value per element: a scalar for one evaluation, one value per replicate for
a bootstrap that passes weighted counts (the counts may be floats). The definitions are
scikit-learn's, and so is the handling of 0/0: where scikit-learn's ``zero_division`` applies
(precision, recall, F1, specificity, MCC), an undefined ratio is 0.0, its default. The
accumulators (``metrics.py``) reject empty input, so 0/0 only meets them on degenerate data;
a bootstrap replicate with no weight at all gets 0.0 everywhere.

numpy is imported here; this module is never imported by ``mlops-ci --help``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any  # numpy.ndarray, or anything np.asarray accepts


def _ratio(num: Array, den: Array) -> np.ndarray:
    """num / den element-wise, 0.0 where den == 0 (scikit-learn's zero_division default)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    safe = np.where(den == 0, 1.0, den)
    return np.where(den == 0, 0.0, num / safe)


def binary_from_counts(tp: Array, fp: Array, fn: Array, tn: Array) -> dict[str, np.ndarray]:
    """Binary metrics from the confusion counts, the positive class being the second label.

    ``balanced_accuracy`` is scikit-learn's: the mean of recall and specificity over the
    classes present in y_true (the mean of one when the other class is absent).
    ``mcc`` is 0.0 when any marginal is empty, as ``matthews_corrcoef`` returns.
    """
    tp, fp, fn, tn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    pos, neg = tp + fn, tn + fp
    recall = _ratio(tp, pos)
    specificity = _ratio(tn, neg)
    present = (pos > 0).astype(np.float64) + (neg > 0).astype(np.float64)
    balanced = _ratio(np.where(pos > 0, recall, 0.0) + np.where(neg > 0, specificity, 0.0), present)
    # MCC as matthews_corrcoef computes it from the confusion matrix's marginals.
    pred_pos, pred_neg = tp + fp, tn + fn
    cov_tp = (tp + tn) * n - (pos * pred_pos + neg * pred_neg)
    cov_pp = n * n - (pred_pos * pred_pos + pred_neg * pred_neg)
    cov_tt = n * n - (pos * pos + neg * neg)
    return {
        "accuracy": _ratio(tp + tn, n),
        "precision": _ratio(tp, pred_pos),
        "recall": recall,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "specificity": specificity,
        "balanced_accuracy": balanced,
        # both covariances are >= 0; the clamp keeps float weights' rounding out of sqrt
        "mcc": _ratio(cov_tp, np.sqrt(np.maximum(cov_tt * cov_pp, 0.0))),
    }


def multiclass_from_confusion(cm: Array) -> dict[str, np.ndarray]:
    """Multiclass metrics from confusion matrices of shape (..., K, K).

    Rows are the true class, columns the predicted one (``confusion_matrix``'s layout).
    Macro averages weigh the K classes equally, classes absent from both y_true and y_pred
    included (as scikit-learn does when it is given ``labels``); weighted averages weigh by
    support (the row sums). Per-class 0/0 is 0.0.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim < 2 or cm.shape[-1] != cm.shape[-2]:
        raise ValueError(f"a confusion matrix must have shape (..., K, K), not {cm.shape}")
    correct = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)  # true counts per class
    predicted = cm.sum(axis=-2)
    n = support.sum(axis=-1)
    precision = _ratio(correct, predicted)
    recall = _ratio(correct, support)
    f1 = _ratio(2 * correct, support + predicted)
    out: dict[str, np.ndarray] = {"accuracy": _ratio(correct.sum(axis=-1), n)}
    for name, per_class in (("precision", precision), ("recall", recall), ("f1", f1)):
        out[f"macro_{name}"] = per_class.mean(axis=-1)
        out[f"weighted_{name}"] = _ratio((per_class * support).sum(axis=-1), n)
    return out


def regression_from_sums(
    n: Array, sum_err: Array, sum_abs_err: Array, sum_sq_err: Array, sum_y: Array, sum_y_sq: Array
) -> dict[str, np.ndarray]:
    """Regression metrics from sums over rows; the error is ``y_pred - y_true``.

    ``mean_error`` is the bias (positive: the model over-predicts). ``r2`` is
    ``1 - SS_res / SS_tot`` with ``SS_tot = sum_y_sq - sum_y**2 / n``; as ``r2_score`` does
    (``force_finite``), it is 1.0 when both are 0 and 0.0 when only SS_tot is. R² does not
    change when y is shifted by a constant, so *sum_y* and *sum_y_sq* may be sums of
    ``y_true - c`` for any c: pass c close to the mean (the first row's y, say) to keep the
    subtraction accurate on large sums.
    """
    n, sum_err, sum_abs_err, sum_sq_err, sum_y, sum_y_sq = (
        np.asarray(x, dtype=np.float64)
        for x in (n, sum_err, sum_abs_err, sum_sq_err, sum_y, sum_y_sq)
    )
    mse = _ratio(sum_sq_err, n)
    ss_tot = np.maximum(sum_y_sq - _ratio(sum_y * sum_y, n), 0.0)
    fitted = 1.0 - _ratio(sum_sq_err, ss_tot)
    r2 = np.where(ss_tot == 0, np.where(sum_sq_err == 0, 1.0, 0.0), fitted)
    return {
        "mae": _ratio(sum_abs_err, n),
        "mse": mse,
        "rmse": np.sqrt(mse),
        "r2": np.where(n == 0, 0.0, r2),
        "mean_error": _ratio(sum_err, n),
    }
