"""mlops_ci/evaluation/stream.py: evaluating a file in chunks equals scikit-learn in memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlops_ci.errors import InputError
from mlops_ci.evaluation.stream import evaluate_file

ROWS = 2_345


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, ROWS)
    s = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 3)
    return pd.DataFrame(
        {
            "label": y,
            "pred": (s > 0.5).astype(int),
            "proba": s,
            "sex": rng.choice(["female", "male"], ROWS),
            "value": rng.normal(size=ROWS),
        }
    )


@pytest.fixture(scope="module", params=["csv", "parquet"])
def source(
    request: pytest.FixtureRequest, table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("data") / f"test.{request.param}"
    if request.param == "csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("chunk_rows", [7, 500, 100_000])
def test_binary_file_equals_sklearn(source: Path, table: pd.DataFrame, chunk_rows: int) -> None:
    seen: list[int] = []
    result = evaluate_file(
        source,
        target="label",
        prediction="pred",
        score="proba",
        task="binary",
        slices=["sex"],
        chunk_rows=chunk_rows,
        on_chunk=seen.append,
    )
    y, p, s = table["label"], table["pred"], table["proba"]
    assert sum(seen) == result.rows == ROWS
    assert result.metrics["f1"] == skm.f1_score(y, p)
    assert result.metrics["mcc"] == pytest.approx(skm.matthews_corrcoef(y, p), abs=1e-12)
    assert result.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-9)
    assert result.metrics["average_precision"] == pytest.approx(
        skm.average_precision_score(y, s), abs=1e-9
    )
    female = table["sex"] == "female"
    assert result.slice_metrics({"sex": "female"})["recall"] == skm.recall_score(
        y[female], p[female]
    )
    assert set(result.plots) == {"confusion", "roc", "precision_recall", "calibration"}
    json.dumps(result.to_dict(), allow_nan=False)


def test_one_row_chunks_equal_one_chunk(tmp_path: Path, table: pd.DataFrame) -> None:
    head = table.head(150)
    for path in (tmp_path / "head.csv", tmp_path / "head.parquet"):
        head.to_csv(path, index=False) if path.suffix == ".csv" else head.to_parquet(path)
        options = {"target": "label", "prediction": "pred", "score": "proba", "task": "binary"}
        one = evaluate_file(path, chunk_rows=1, slices=["sex"], **options)  # type: ignore[arg-type]
        whole = evaluate_file(path, slices=["sex"], **options)  # type: ignore[arg-type]
        for name in ("roc_auc", "average_precision", "log_loss", "brier"):
            assert one.metrics.pop(name) == pytest.approx(whole.metrics.pop(name), abs=1e-9)
        assert one.metrics == whole.metrics
        assert one.plots == whole.plots


def test_regression_file(source: Path, table: pd.DataFrame) -> None:
    result = evaluate_file(
        source, target="value", prediction="proba", task="regression", chunk_rows=400
    )
    assert result.metrics["r2"] == pytest.approx(
        skm.r2_score(table["value"], table["proba"]), abs=1e-9
    )
    assert list(result.plots) == ["errors"]


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("y,p\n1,1\n", {"target": "label"}, r"no target column 'label'.*'y', 'p'"),
        ("y,pred\n1,1\n", {"prediction": "Pred"}, r"no prediction column 'Pred'.*mean 'pred'"),
        ("y,p\n1,1\n", {"score": "proba"}, "no score column 'proba'"),
        ("y,p\n1,1\n", {"slices": ["sex"]}, "no slice column 'sex'"),
        ("", {}, "is empty: it has no header"),
        ("y,p\n", {}, "has a header but no rows"),
        ("y,p\n0,1\n1,\n", {}, r"'p' has a missing value \(NaN\) on row 2"),
        ("y,p,s\n0,1,0.2\n1,1,high\n", {"score": "s"}, "'s' must hold numbers, but row 2"),
        ("y,p\n1,1\n0,0\n2,1\n", {"chunk_rows": 2}, "third label 2 on row 3"),
        ("y,p\n1,1\n0,0\n2,1\n", {"labels": [0, 1]}, "label 2 on row 3, which is not among"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, text: str, kwargs: dict, message: str) -> None:
    options = {"target": "y", "prediction": "p", "task": "binary", **kwargs}
    with pytest.raises(InputError, match=message):
        evaluate_file(_write(tmp_path, text), **options)


def test_regression_text_and_unknown_formats(tmp_path: Path) -> None:
    path = _write(tmp_path, "y,p\n1.5,1\nn/a?,2\n")
    with pytest.raises(InputError, match="'y' must hold numbers, but row 2 holds 'n/a\\?'"):
        evaluate_file(path, target="y", prediction="p", task="regression")
    with pytest.raises(InputError, match="unknown input format '.txt'"):
        evaluate_file(_write(tmp_path, "y,p\n", "t.txt"), target="y", prediction="p", task="binary")
    path = _write(tmp_path, "y,p,sex\n1.5,1,female\n2,2,male\n")
    result = evaluate_file(path, target="y", prediction="p", task="regression", slices=["sex"])
    with pytest.raises(InputError, match=r"\{sex: 'other'\} matches no row"):
        result.slice_metrics({"sex": "other"})


def test_multiclass_probabilities_from_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([2, 2, 2], 300)
    y = np.array([rng.choice(3, p=row) for row in proba])
    frame = pd.DataFrame(
        {"y": y, "p": proba.argmax(axis=1), "p0": proba[:, 0], "p1": proba[:, 1], "p2": proba[:, 2]}
    )
    path = tmp_path / "m.parquet"
    frame.to_parquet(path)
    result = evaluate_file(
        path,
        target="y",
        prediction="p",
        score=["p0", "p1", "p2"],
        task="multiclass",
        labels=[0, 1, 2],
        chunk_rows=64,
    )
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-9)
    assert result.metrics["macro_f1"] == pytest.approx(
        skm.f1_score(y, frame["p"], average="macro"), abs=1e-12
    )
