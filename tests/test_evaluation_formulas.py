"""mlops_ci/evaluation/formulas.py: the formulas equal scikit-learn's metrics, element-wise."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlops_ci.evaluation.formulas import (
    binary_from_counts,
    multiclass_from_confusion,
    regression_from_sums,
)

TOL = 1e-12


def _sk_binary(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "accuracy": skm.accuracy_score(y, p),
            "precision": skm.precision_score(y, p, labels=[0, 1], zero_division=0.0),
            "recall": skm.recall_score(y, p, labels=[0, 1], zero_division=0.0),
            "f1": skm.f1_score(y, p, labels=[0, 1], zero_division=0.0),
            "specificity": skm.recall_score(y, p, labels=[0, 1], pos_label=0, zero_division=0.0),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "mcc": skm.matthews_corrcoef(y, p),
        }


def _counts(y: np.ndarray, p: np.ndarray) -> tuple[int, int, int, int]:
    return (
        int(((y == 1) & (p == 1)).sum()),
        int(((y == 0) & (p == 1)).sum()),
        int(((y == 1) & (p == 0)).sum()),
        int(((y == 0) & (p == 0)).sum()),
    )


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_binary_equals_sklearn(pairs: list[tuple[int, int]]) -> None:
    y, p = (np.array(v) for v in zip(*pairs, strict=True))
    got = binary_from_counts(*_counts(y, p))
    for name, expected in _sk_binary(y, p).items():
        assert float(got[name]) == pytest.approx(expected, abs=TOL), name


def test_binary_degenerate_counts_are_zero_not_nan() -> None:
    got = binary_from_counts(0, 0, 0, 0)
    assert all(float(v) == 0.0 for v in got.values())
    only_negatives = binary_from_counts(0, 0, 0, 5)  # one class: sklearn gives these values
    y = p = np.zeros(5, dtype=int)
    for name, expected in _sk_binary(y, p).items():
        assert float(only_negatives[name]) == pytest.approx(expected, abs=TOL), name


def test_binary_is_element_wise() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, size=(4, 3, 7)).astype(float)
    batch = binary_from_counts(*counts)
    for i in range(3):
        for j in range(7):
            one = binary_from_counts(*counts[:, i, j])
            for name in one:
                assert batch[name].shape == (3, 7)
                assert batch[name][i, j] == one[name]


def _sk_multiclass(y: np.ndarray, p: np.ndarray, labels: list[int]) -> dict[str, float]:
    out = {"accuracy": skm.accuracy_score(y, p)}
    for avg in ("macro", "weighted"):
        kw = {"labels": labels, "average": avg, "zero_division": 0.0}
        out[f"{avg}_precision"] = skm.precision_score(y, p, **kw)
        out[f"{avg}_recall"] = skm.recall_score(y, p, **kw)
        out[f"{avg}_f1"] = skm.f1_score(y, p, **kw)
    return out


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(
                st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=60
            ),
        )
    )
)
def test_multiclass_equals_sklearn(case: tuple[int, list[tuple[int, int]]]) -> None:
    k, pairs = case
    y, p = (np.array(v) for v in zip(*pairs, strict=True))
    labels = list(range(k))
    cm = skm.confusion_matrix(y, p, labels=labels)
    got = multiclass_from_confusion(cm)
    for name, expected in _sk_multiclass(y, p, labels).items():
        assert float(got[name]) == pytest.approx(expected, abs=TOL), name


def test_multiclass_is_element_wise_and_checks_shape() -> None:
    rng = np.random.default_rng(1)
    cms = rng.integers(0, 9, size=(5, 3, 3))
    batch = multiclass_from_confusion(cms)
    for i in range(5):
        one = multiclass_from_confusion(cms[i])
        assert all(batch[name][i] == one[name] for name in one)
    with pytest.raises(ValueError, match="K, K"):
        multiclass_from_confusion(np.zeros((3, 2)))


def _sums(y: np.ndarray, p: np.ndarray, shift: float = 0.0) -> tuple[float, ...]:
    err = p - y
    centred = y - shift
    return (len(y), err.sum(), np.abs(err).sum(), (err**2).sum(), centred.sum(), (centred**2).sum())


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=60))
def test_regression_equals_sklearn(pairs: list[tuple[float, float]]) -> None:
    y, p = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
    got = regression_from_sums(*_sums(y, p, shift=y[0]))
    assert float(got["mae"]) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-9, abs=1e-9)
    assert float(got["mse"]) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-9, abs=1e-9)
    rmse = skm.root_mean_squared_error(y, p)
    assert float(got["rmse"]) == pytest.approx(rmse, rel=1e-9, abs=1e-9)
    assert float(got["mean_error"]) == pytest.approx(np.mean(p - y), rel=1e-9, abs=1e-9)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot > 1e-6 * max(1.0, float((y**2).sum())):  # sums lose what cancels below that
        assert float(got["r2"]) == pytest.approx(skm.r2_score(y, p), rel=1e-6, abs=1e-9)


def test_regression_constant_target_follows_force_finite() -> None:
    y = np.full(4, 3.0)
    perfect = regression_from_sums(*_sums(y, y.copy(), shift=3.0))
    off = regression_from_sums(*_sums(y, y + 1, shift=3.0))
    assert float(perfect["r2"]) == skm.r2_score(y, y) == 1.0
    assert float(off["r2"]) == skm.r2_score(y, y + 1) == 0.0
    assert all(float(v) == 0.0 for v in regression_from_sums(0, 0, 0, 0, 0, 0).values())


def test_regression_shift_keeps_r2_accurate_on_large_values() -> None:
    rng = np.random.default_rng(2)
    y = 1e8 + rng.normal(size=1000)
    p = y + rng.normal(scale=0.5, size=1000)
    got = regression_from_sums(*_sums(y, p, shift=y[0]))
    assert float(got["r2"]) == pytest.approx(skm.r2_score(y, p), rel=1e-9)


def test_regression_is_element_wise() -> None:
    rng = np.random.default_rng(3)
    sums = np.abs(rng.normal(size=(6, 4))) + 10
    batch = regression_from_sums(*sums)
    for i in range(4):
        one = regression_from_sums(*sums[:, i])
        assert all(batch[name][i] == one[name] for name in one)
