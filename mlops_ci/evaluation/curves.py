"""Bounded plot data from the accumulators, as JSON-ready lists of dicts (DVC plot data).

Each plot is a list of flat records, the shape ``dvc plots`` reads from a JSON file: ROC
(``fpr``/``tpr``), precision–recall (``recall``/``precision``), calibration
(``mean_predicted``/``fraction_positive`` per bin, with ``count``), the confusion matrix (one
record per cell: ``actual``, ``predicted``, ``count``) and the histogram of errors of a
regression (``error`` is the bin's centre, ``low``/``high`` its edges, ``count``). Curves are
thinned to at most MAX_POINTS points, their end points kept; every value is a plain float,
int, str or None.

DVC's ``confusion`` template counts one record per row; these records carry the count of
each cell instead (the rows may be millions), so declare them with a template that reads
``count`` (or as a table).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from mlops_ci.evaluation.metrics import (
    CALIBRATION_BINS,
    Accumulator,
    BinaryAccumulator,
    MulticlassAccumulator,
    RegressionAccumulator,
)

MAX_POINTS = 200
Records = list[dict[str, Any]]


def _threshold(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def roc_curve(acc: BinaryAccumulator, max_points: int = MAX_POINTS) -> Records:
    """``[{"fpr", "tpr", "threshold"}]`` from (0, 0) to (1, 1); the first threshold is None."""
    fpr, tpr, thresholds = acc.scores.roc_points(max_points)
    return [
        {"fpr": float(f), "tpr": float(t), "threshold": _threshold(h)}
        for f, t, h in zip(fpr, tpr, thresholds, strict=True)
    ]


def precision_recall_curve(acc: BinaryAccumulator, max_points: int = MAX_POINTS) -> Records:
    """``[{"recall", "precision", "threshold"}]``, recall rising from (0, 1), whose threshold
    is None."""
    recall, precision, thresholds = acc.scores.pr_points(max_points)
    return [
        {"recall": float(r), "precision": float(p), "threshold": _threshold(h)}
        for r, p, h in zip(recall, precision, thresholds, strict=True)
    ]


def calibration(acc: BinaryAccumulator) -> Records:
    """Ten equal-width bins of the predicted probability; empty bins left out, as
    ``sklearn.calibration.calibration_curve(strategy="uniform")`` leaves them."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    return [
        {
            "bin": i,
            "low": float(edges[i]),
            "high": float(edges[i + 1]),
            "mean_predicted": float(acc.bin_score[i] / acc.bin_count[i]),
            "fraction_positive": float(acc.bin_positive[i] / acc.bin_count[i]),
            "count": int(acc.bin_count[i]),
        }
        for i in range(CALIBRATION_BINS)
        if acc.bin_count[i] > 0
    ]


def _label(label: Hashable) -> str | int | float | bool:
    return label if isinstance(label, (str, int, float, bool)) else str(label)


def confusion_matrix(acc: BinaryAccumulator | MulticlassAccumulator) -> Records:
    """One record per cell, ``actual`` (true) by ``predicted``, in label order."""
    labels, matrix = acc.confusion()
    return [
        {"actual": _label(a), "predicted": _label(p), "count": int(matrix[i, j])}
        for i, a in enumerate(labels)
        for j, p in enumerate(labels)
    ]


def error_histogram(acc: RegressionAccumulator) -> Records:
    """The errors (``y_pred - y_true``) in at most 64 bins of equal, power-of-two width."""
    return [{"error": (b["low"] + b["high"]) / 2, **b} for b in acc.errors.bins()]


def plots(acc: Accumulator) -> dict[str, Records]:
    """Every plot that applies to *acc*, by name."""
    if isinstance(acc, RegressionAccumulator):
        return {"errors": error_histogram(acc)}
    out: dict[str, Records] = {"confusion": confusion_matrix(acc)}
    if isinstance(acc, BinaryAccumulator) and acc.rows and acc.scores.distinct():
        out["roc"] = roc_curve(acc)
        out["precision_recall"] = precision_recall_curve(acc)
        if acc.probabilities:
            out["calibration"] = calibration(acc)
    return out
