"""mlops_ci/evaluation/slices.py: per-slice metrics equal scikit-learn on each slice's rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mlops_ci.errors import InputError
from mlops_ci.evaluation.metrics import BinaryAccumulator, RegressionAccumulator
from mlops_ci.evaluation.slices import SlicedAccumulators


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(21)
    n = 1_200
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(rng.normal(0.3 + 0.4 * y, 0.25), 0, 1), 2)
    sex = rng.choice(np.array(["female", "male", None], dtype=object), n, p=[0.45, 0.45, 0.1])
    age = rng.choice([20, 40, 60], n)
    return {"y": y, "p": (s > 0.5).astype(int), "s": s, "sex": sex, "age": age}


def _sliced(data: dict[str, np.ndarray], chunk: int) -> SlicedAccumulators:
    sliced = SlicedAccumulators(BinaryAccumulator, ["sex", ("sex", "age")])
    for i in range(0, len(data["y"]), chunk):
        part = {k: v[i : i + chunk] for k, v in data.items()}
        sliced.update({"sex": part["sex"], "age": part["age"]}, part["y"], part["p"], part["s"])
    return sliced


@pytest.mark.parametrize("chunk", [1, 50, 10_000])
def test_slices_equal_sklearn_on_the_slice(data: dict[str, np.ndarray], chunk: int) -> None:
    sliced = _sliced(data, chunk)
    female = data["sex"] == "female"
    got = sliced.get({"sex": "female"}).result()
    assert got["recall"] == skm.recall_score(data["y"][female], data["p"][female])
    assert got["roc_auc"] == pytest.approx(
        skm.roc_auc_score(data["y"][female], data["s"][female]), abs=1e-12
    )
    both = (data["sex"] == "male") & (data["age"] == 40)
    got = sliced.get({"age": 40, "sex": "male"}).result()
    assert got["accuracy"] == skm.accuracy_score(data["y"][both], data["p"][both])
    missing = np.array([v is None for v in data["sex"]])
    assert sliced.get({"sex": None}).result()["rows"] == missing.sum()
    results = sliced.results()
    assert len(results) == 3 + 9
    assert results[0]["slice"] == {"sex": "female"} and results[2]["slice"] == {"sex": None}


def test_yaml_text_names_a_numeric_slice(data: dict[str, np.ndarray]) -> None:
    sliced = _sliced(data, 400)
    assert sliced.get({"sex": "male", "age": "60"}) is sliced.get({"sex": "male", "age": 60})


def test_a_slice_that_matches_no_row_is_named(data: dict[str, np.ndarray]) -> None:
    sliced = _sliced(data, 400)
    with pytest.raises(InputError, match=r"\{sex: 'femal'\} matches no row.*'female', 'male'"):
        sliced.get({"sex": "femal"})
    with pytest.raises(InputError, match="No slice by region"):
        sliced.get({"region": "north"})


def test_too_many_slices_is_an_error() -> None:
    sliced = SlicedAccumulators(RegressionAccumulator, ["id"], max_slices=100)
    ids = np.arange(101)
    with pytest.raises(InputError, match="more than 100 slices.*bin a numeric column"):
        sliced.update({"id": ids}, ids * 1.0, ids * 1.0)


def test_bad_specs() -> None:
    with pytest.raises(InputError, match="once each"):
        SlicedAccumulators(RegressionAccumulator, [("a", "a")])
