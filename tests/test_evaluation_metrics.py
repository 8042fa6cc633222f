"""mlops_ci/evaluation/metrics.py: streaming accumulators equal scikit-learn on all rows."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlops_ci.errors import InputError
from mlops_ci.evaluation.metrics import (
    BinaryAccumulator,
    Columns,
    MulticlassAccumulator,
    RegressionAccumulator,
    accumulator,
)

CHUNKS = (1, 7, 250, 10_000)


def _feed(acc: Any, y: Any, p: Any, s: Any = None, chunk: int = 10_000) -> dict[str, float]:
    for i in range(0, len(y), chunk):
        acc.update(y[i : i + chunk], p[i : i + chunk], None if s is None else s[i : i + chunk])
    return acc.result()  # type: ignore[no-any-return]


def _sk_binary(y: np.ndarray, p: np.ndarray, s: np.ndarray | None) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {
            "accuracy": skm.accuracy_score(y, p),
            "precision": skm.precision_score(y, p, zero_division=0.0),
            "recall": skm.recall_score(y, p, zero_division=0.0),
            "f1": skm.f1_score(y, p, zero_division=0.0),
            "specificity": skm.recall_score(y, p, pos_label=0, zero_division=0.0),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "mcc": skm.matthews_corrcoef(y, p),
        }
        if s is not None:
            if len(set(y)) == 2:
                out["roc_auc"] = skm.roc_auc_score(y, s)
            if (y == 1).any():
                out["average_precision"] = skm.average_precision_score(y, s)
            out["log_loss"] = skm.log_loss(y, s, labels=[0, 1])
            out["brier"] = skm.brier_score_loss(y, s, pos_label=1)
    return out


def _close(got: dict[str, float], expected: dict[str, float]) -> None:
    assert set(got) - {"rows"} == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name


@pytest.fixture(scope="module")
def binary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 3_000)
    # rounded: many ties between positives and negatives
    s = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 2)
    return y, (s > 0.5).astype(int), s


def test_binary_equals_sklearn_in_memory(binary: tuple[np.ndarray, ...]) -> None:
    y, p, s = binary
    _close(_feed(BinaryAccumulator(), y, p, s), _sk_binary(y, p, s))


@pytest.mark.parametrize("chunk", CHUNKS)
def test_binary_streaming_equals_in_memory(binary: tuple[np.ndarray, ...], chunk: int) -> None:
    y, p, s = binary
    whole = _feed(BinaryAccumulator(), y, p, s)
    streamed = _feed(BinaryAccumulator(), y, p, s, chunk=chunk)
    counting = ("accuracy", "precision", "recall", "f1", "specificity", "balanced_accuracy", "mcc")
    assert {k: streamed[k] for k in counting} == {k: whole[k] for k in counting}
    for name in ("roc_auc", "average_precision", "log_loss", "brier"):
        assert streamed[name] == pytest.approx(whole[name], abs=1e-9)


def test_one_class_absent_from_a_chunk() -> None:
    y = np.array([0] * 50 + [1] * 50)  # sorted: the first chunks hold negatives only
    s = np.linspace(0, 1, 100)
    p = (s > 0.3).astype(int)
    _close(_feed(BinaryAccumulator(), y, p, s, chunk=30), _sk_binary(y, p, s))


def test_one_class_overall_leaves_rank_metrics_out() -> None:
    y = np.zeros(20, dtype=int)
    s = np.linspace(0, 1, 20)
    got = _feed(BinaryAccumulator(), y, (s > 0.5).astype(int), s)
    assert "roc_auc" not in got and "average_precision" not in got
    _close(got, _sk_binary(y, (s > 0.5).astype(int), s))


def test_scores_that_are_not_probabilities_give_rank_metrics_only() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    s = rng.normal(y, 1.0)  # a decision function
    got = _feed(BinaryAccumulator(), y, (s > 0.5).astype(int), s, chunk=64)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert got["average_precision"] == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert "log_loss" not in got and "brier" not in got


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=2, max_size=80),
    st.integers(1, 9),
)
def test_binary_hypothesis(rows: list[tuple[int, int]], chunk: int) -> None:
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows]) / 6.0  # 7 distinct scores: ties everywhere
    p = (s >= 0.5).astype(int)
    _close(_feed(BinaryAccumulator(), y, p, s, chunk=chunk), _sk_binary(y, p, s))


def test_text_labels_need_the_positive_label() -> None:
    y = np.array(["no", "yes", "yes", "no"])
    p = np.array(["no", "yes", "no", "no"])
    with pytest.raises(InputError, match="positive label 1"):
        BinaryAccumulator().update(y, p)
    got = _feed(BinaryAccumulator(labels=["no", "yes"]), y, p)
    assert got["recall"] == skm.recall_score(y, p, pos_label="yes") == 0.5
    assert _feed(BinaryAccumulator(pos_label="yes"), y, p)["recall"] == 0.5


def test_binary_third_label_is_named() -> None:
    acc = BinaryAccumulator()
    acc.update([0, 1, 1], [0, 1, 0])
    with pytest.raises(InputError, match=r"third label 2 on row 5"):
        acc.update([1, 2], [1, 1])


def _sk_multiclass(y: np.ndarray, p: np.ndarray, labels: list[Any]) -> dict[str, float]:
    out = {"accuracy": skm.accuracy_score(y, p)}
    for avg in ("macro", "weighted"):
        kw: dict[str, Any] = {"labels": labels, "average": avg, "zero_division": 0.0}
        out[f"{avg}_precision"] = skm.precision_score(y, p, **kw)
        out[f"{avg}_recall"] = skm.recall_score(y, p, **kw)
        out[f"{avg}_f1"] = skm.f1_score(y, p, **kw)
    return out


@pytest.mark.parametrize("chunk", CHUNKS)
def test_multiclass_streaming_equals_sklearn(chunk: int) -> None:
    rng = np.random.default_rng(11)
    y = rng.choice(["ant", "bee", "cat", "dog"], 2_000, p=[0.5, 0.3, 0.15, 0.05])
    p = np.where(rng.random(2_000) < 0.7, y, rng.choice(["ant", "bee", "cat"], 2_000))
    labels = sorted(set(y) | set(p))
    got = _feed(MulticlassAccumulator(), y, p, chunk=chunk)
    expected = _sk_multiclass(y, p, labels)
    assert {k: got[k] for k in expected} == pytest.approx(expected, abs=1e-12)
    assert got == _feed(MulticlassAccumulator(), y, p)  # counting metrics: exactly equal


def test_multiclass_log_loss_with_probabilities() -> None:
    rng = np.random.default_rng(5)
    proba = rng.dirichlet([1, 1, 1], 900)
    y = np.array([rng.choice(3, p=row) for row in proba])
    proba[0] = [0.0, 0.0, 1.0]  # clipped as log_loss clips
    y[0] = 0
    p = proba.argmax(axis=1)
    for chunk in (1, 100):
        got = _feed(MulticlassAccumulator(labels=[0, 1, 2]), y, p, proba, chunk=chunk)
        assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]), abs=1e-9)


def test_multiclass_declared_labels_include_absent_classes() -> None:
    y = np.array([0, 1, 1, 0])
    p = np.array([0, 1, 0, 0])
    got = _feed(MulticlassAccumulator(labels=[0, 1, 2]), y, p)
    expected = _sk_multiclass(y, p, [0, 1, 2])
    assert {k: got[k] for k in expected} == pytest.approx(expected, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60),
    st.integers(1, 9),
)
def test_multiclass_hypothesis(rows: list[tuple[int, int]], chunk: int) -> None:
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    got = _feed(MulticlassAccumulator(), y, p, chunk=chunk)
    expected = _sk_multiclass(y, p, sorted(set(y) | set(p)))
    assert {k: got[k] for k in expected} == pytest.approx(expected, abs=1e-12)


def test_undeclared_label_is_named() -> None:
    acc = MulticlassAccumulator(labels=["a", "b"])
    acc.update(["a", "b"], ["a", "a"])
    with pytest.raises(InputError, match=r"label 'c' on row 4.*not among the declared"):
        acc.update(["b", "c"], ["a", "b"])


def _sk_regression(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "mae": skm.mean_absolute_error(y, p),
        "mse": skm.mean_squared_error(y, p),
        "rmse": skm.root_mean_squared_error(y, p),
        "r2": skm.r2_score(y, p),
        "mean_error": float(np.mean(p - y)),
    }


@pytest.mark.parametrize("chunk", CHUNKS)
def test_regression_streaming_equals_sklearn(chunk: int) -> None:
    rng = np.random.default_rng(13)
    y = 1_000 + 50 * rng.normal(size=2_000)
    p = y + rng.normal(2, 10, size=2_000)
    got = _feed(RegressionAccumulator(), y, p, chunk=chunk)
    for name, value in _sk_regression(y, p).items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=60),
    st.integers(1, 9),
)
def test_regression_hypothesis(rows: list[tuple[float, float]], chunk: int) -> None:
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    got = _feed(RegressionAccumulator(), y, p, chunk=chunk)
    expected = _sk_regression(y, p)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot < 1e-6 * max(1.0, float((y**2).sum())):
        del expected["r2"]  # nearly constant: the sums lose what cancels
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-7, abs=1e-7), name


@pytest.mark.parametrize(
    ("make", "y", "p", "s", "message"),
    [
        (BinaryAccumulator, [0, 1, np.nan], [0, 1, 1], None, "'target'.*NaN.*row 3"),
        (BinaryAccumulator, [0, 1, 1], [0, None, 1], None, "'pred'.*row 2"),
        (BinaryAccumulator, [0, 1], [0, 1], [0.2, np.nan], "'proba'.*row 2"),
        (BinaryAccumulator, [0, 1], [0, 1], ["0.2", "high"], "'proba' must hold numbers.*row 2"),
        (RegressionAccumulator, [1.0, "x"], [1.0, 2.0], None, "'target' must hold numbers.*row 2"),
        (RegressionAccumulator, [1.0, 2.0], [1.0, np.inf], None, "'pred'.*infinite.*row 2"),
        (MulticlassAccumulator, ["a", 1], ["a", "a"], None, "'target' mixes text and numbers"),
    ],
)
def test_bad_values_are_named(make: Any, y: Any, p: Any, s: Any, message: str) -> None:
    acc = make(columns=Columns("target", "pred", "proba"))
    with pytest.raises(InputError, match=message):
        acc.update(np.array(y, dtype=object), np.array(p, dtype=object), s)


def test_row_numbers_count_across_chunks() -> None:
    acc = RegressionAccumulator()
    acc.update([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="row 5"):
        acc.update([1.0, np.nan], [1.0, 2.0])


def test_empty_input_and_inconsistent_chunks() -> None:
    for task in ("binary", "multiclass", "regression"):
        acc = accumulator(task)
        acc.update([], [])
        with pytest.raises(InputError, match="No rows to evaluate"):
            acc.result()
    acc = accumulator("binary")
    acc.update([0, 1], [0, 1], [0.1, 0.9])
    with pytest.raises(InputError, match="every chunk or for none"):
        acc.update([0, 1], [0, 1])
    with pytest.raises(InputError, match="same number of rows"):
        acc.update([0, 1], [0], [0.1, 0.2])
    with pytest.raises(InputError, match="Unknown task 'ranking'"):
        accumulator("ranking")
    with pytest.raises(InputError, match="need the declared labels"):
        MulticlassAccumulator().update([0, 1], [0, 1], np.eye(2))
