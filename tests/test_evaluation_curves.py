"""mlops_ci/evaluation/curves.py (and histogram.py): bounded, JSON-ready plot data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from mlops_ci.evaluation.curves import (
    MAX_POINTS,
    calibration,
    confusion_matrix,
    error_histogram,
    plots,
    precision_recall_curve,
    roc_curve,
)
from mlops_ci.evaluation.histogram import Histogram
from mlops_ci.evaluation.metrics import (
    BinaryAccumulator,
    MulticlassAccumulator,
    RegressionAccumulator,
)
from mlops_ci.evaluation.ranking import thin


def _binary(n: int, decimals: int | None, chunk: int = 97) -> tuple[BinaryAccumulator, ...]:
    rng = np.random.default_rng(n)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    if decimals is not None:
        s = np.round(s, decimals)
    acc = BinaryAccumulator()
    for i in range(0, n, chunk):
        acc.update(y[i : i + chunk], (s[i : i + chunk] > 0.5).astype(int), s[i : i + chunk])
    return acc, y, s  # type: ignore[return-value]


def test_thin_keeps_the_end_points() -> None:
    assert list(thin(5, MAX_POINTS)) == [0, 1, 2, 3, 4]
    picked = thin(10_001, MAX_POINTS)
    assert len(picked) <= MAX_POINTS and picked[0] == 0 and picked[-1] == 10_000
    assert np.all(np.diff(picked) > 0)


def test_roc_curve_is_sklearns_when_short() -> None:
    acc, y, s = _binary(600, decimals=2)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    got = roc_curve(acc, max_points=10_000)
    assert [p["fpr"] for p in got] == pytest.approx(list(fpr), abs=1e-12)
    assert [p["tpr"] for p in got] == pytest.approx(list(tpr), abs=1e-12)
    assert got[0]["threshold"] is None


def test_precision_recall_curve_is_sklearns_reversed_when_short() -> None:
    acc, y, s = _binary(600, decimals=2)
    precision, recall, thresholds = skm.precision_recall_curve(y, s, drop_intermediate=False)
    got = precision_recall_curve(acc, max_points=10_000)
    assert [p["recall"] for p in got] == pytest.approx(list(recall[::-1]), abs=1e-12)
    assert [p["precision"] for p in got] == pytest.approx(list(precision[::-1]), abs=1e-12)
    assert [p["threshold"] for p in got[1:]] == pytest.approx(list(thresholds[::-1]))
    assert got[0]["threshold"] is None


def test_long_curves_are_thinned_with_end_points() -> None:
    acc, y, s = _binary(3_000, decimals=None)
    roc, pr = roc_curve(acc), precision_recall_curve(acc)
    assert len(roc) <= MAX_POINTS and len(pr) <= MAX_POINTS
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0)
    assert (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    precision, recall, _ = skm.precision_recall_curve(y, s, drop_intermediate=False)
    assert (pr[0]["recall"], pr[0]["precision"]) == (0.0, 1.0)
    assert pr[-1]["recall"] == pytest.approx(recall[0]) and pr[-1]["precision"] == pytest.approx(
        precision[0]
    )
    json.dumps(plots(acc), allow_nan=False)


def test_calibration_is_sklearns() -> None:
    acc, y, s = _binary(2_000, decimals=1)  # values on the bin edges: binned as sklearn bins
    observed, predicted = calibration_curve(y, s, n_bins=10, strategy="uniform")
    got = calibration(acc)
    assert [b["fraction_positive"] for b in got] == pytest.approx(list(observed), abs=1e-12)
    assert [b["mean_predicted"] for b in got] == pytest.approx(list(predicted), abs=1e-12)
    assert sum(b["count"] for b in got) == 2_000


def test_confusion_matrix_records() -> None:
    y = np.array(["b", "a", "c", "a", "b"])
    p = np.array(["a", "a", "c", "b", "b"])
    acc = MulticlassAccumulator()
    for i in range(5):
        acc.update(y[i : i + 1], p[i : i + 1])
    expected = skm.confusion_matrix(y, p, labels=["a", "b", "c"])
    got = confusion_matrix(acc)
    assert [r["count"] for r in got] == list(expected.ravel())
    assert got[1] == {"actual": "a", "predicted": "b", "count": 1}
    binary, by, bs = _binary(300, decimals=2)
    cells = {(r["actual"], r["predicted"]): r["count"] for r in confusion_matrix(binary)}
    assert cells[(1, 0)] == int(((by == 1) & (bs <= 0.5)).sum())


def test_error_histogram_is_bounded_and_independent_of_chunks() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=5_000)
    p = y + rng.standard_cauchy(5_000)  # heavy tails: the range keeps growing
    results = []
    for chunk in (1, 13, 5_000):
        acc = RegressionAccumulator()
        for i in range(0, 5_000, chunk):
            acc.update(y[i : i + chunk], p[i : i + chunk])
        results.append(error_histogram(acc))
    assert results[0] == results[1] == results[2]
    bins = results[0]
    assert len(bins) <= 64 and sum(b["count"] for b in bins) == 5_000
    err = p - y
    for b in bins[:: max(1, len(bins) // 8)]:
        assert b["count"] == int(((err >= b["low"]) & (err < b["high"])).sum())
    assert plots(acc) == {"errors": bins}


def test_histogram_of_one_value() -> None:
    h = Histogram()
    h.update(np.full(3, 2.5))
    (only,) = h.bins()
    assert only["count"] == 3 and only["low"] <= 2.5 < only["high"]
