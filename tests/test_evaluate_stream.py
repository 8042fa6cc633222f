"""Streaming equals in-memory: `mlops-ci evaluate` gives the same results at every chunk size
(exactly for counting metrics and intervals, to 1e-9 for sums and rank metrics), and the
residuals sample is bounded, seeded and does not depend on the chunking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops_ci.__main__ import main
from mlops_ci.evaluation.predictions import read_prediction_chunks
from mlops_ci.evaluation.residuals import ResidualSample, row_keys

COUNTING = {
    "binary": ("accuracy", "precision", "recall", "f1", "specificity", "balanced_accuracy",
               "mcc", "rows"),
    "multiclass": ("accuracy", "macro_precision", "macro_recall", "macro_f1",
                   "weighted_precision", "weighted_recall", "weighted_f1", "rows"),
    "regression": ("rows",),
}
PARAMS = {
    "binary": "model:\n  estimator: sklearn.ensemble.RandomForestClassifier\n"
              "  params: {n_estimators: 8, max_depth: 3}\n",
    "multiclass": "model:\n  estimator: sklearn.linear_model.LogisticRegression\n"
                  "  params: {max_iter: 1000}\n",
    "regression": "model:\n  estimator: sklearn.linear_model.Ridge\n",
}


def table(task: str, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    signal = x @ [1.0, -0.5, 0.25] + rng.normal(scale=0.8, size=rows)
    if task == "binary":
        frame["y"] = (signal > 0).astype(int)
    elif task == "multiclass":
        frame["y"] = np.array(["low", "mid", "high"])[np.digitize(signal, [-0.6, 0.6])]
    else:
        frame["y"] = 10.0 * signal + 3.0
    frame["group"] = rng.choice(["g1", "g2", "g3"], rows)
    return frame


def evaluate_at(root: Path, task: str, chunk_rows: int) -> dict[str, Any]:
    out = root / f"out-{chunk_rows}"
    code = main([
        "evaluate", "--model", str(root / "model.skops"), "--data", str(root / "test.csv"),
        "--target", "y", "--slice", "group", "--predictions", str(out / "p.parquet"),
        "--metrics", str(out / "metrics.json"), "--plots", str(out / "plots"),
        "--chunk-rows", str(chunk_rows), "--replicates", "200", "--seed", "5", "--no-progress",
        "--no-images",
    ])
    assert code == 0
    (predictions,) = read_prediction_chunks(out / "p.parquet", chunk_rows=10**6)
    return {
        "metrics": json.loads((out / "metrics.json").read_text()),
        "evaluation": json.loads((out / "evaluation.json").read_text()),
        "plots": {p.name: json.loads(p.read_text()) for p in (out / "plots").glob("*.json")},
        "predictions": predictions,
    }


def close(a: dict[str, Any], b: dict[str, Any], exact: tuple[str, ...]) -> None:
    assert set(a) == set(b)
    for name in a:
        if name in exact:
            assert a[name] == b[name], name
        else:
            assert a[name] == pytest.approx(b[name], rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_chunk_size_gives_the_in_memory_results(
    task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = 240
    table(task, 400, seed=1).to_csv(tmp_path / "train.csv", index=False)
    table(task, rows, seed=2).to_csv(tmp_path / "test.csv", index=False)
    (tmp_path / "params.yaml").write_text(PARAMS[task])
    assert main(["train", "--data", "train.csv", "--target", "y", "--drop", "group",
                 "--out", "model.skops"]) == 0
    whole = evaluate_at(tmp_path, task, rows)  # one chunk: the in-memory evaluation
    for size in (1, 7):
        part = evaluate_at(tmp_path, task, size)
        close(part["metrics"], whole["metrics"], COUNTING[task])
        # the bootstrap's intervals do not depend on the chunking (classification: the same
        # counts, so bit for bit; regression: the model's own predictions may differ in the
        # last bit when it predicts 1 row rather than 240 at once)
        intervals = part["evaluation"]["intervals"]
        if task == "regression":
            assert intervals.keys() == whole["evaluation"]["intervals"].keys()
            for name, interval in intervals.items():
                close(interval, whole["evaluation"]["intervals"][name], ("method",))
        else:
            assert intervals == whole["evaluation"]["intervals"]
        for mine, theirs in zip(part["evaluation"]["slices"], whole["evaluation"]["slices"],
                                strict=True):
            assert mine["where"] == theirs["where"] and mine["rows"] == theirs["rows"]
            close(mine["metrics"], theirs["metrics"], COUNTING[task])
        assert part["plots"].keys() == whole["plots"].keys()
        for name, records in whole["plots"].items():
            assert len(part["plots"][name]) == len(records), name
            for mine, theirs in zip(part["plots"][name], records, strict=True):
                exact = ("count", "bin") if task == "regression" else (
                    "actual", "predicted", "count", "bin", "threshold")
                close(mine, theirs, exact)
        for column, values in whole["predictions"].items():
            if values.dtype.kind == "f":
                assert np.allclose(part["predictions"][column], values, rtol=1e-12, atol=0)
            else:
                assert np.array_equal(part["predictions"][column], values), column
    assert whole["metrics"]["rows"] == rows


def test_the_residuals_sample_is_bounded_seeded_and_independent_of_the_chunks() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    actual, predicted = rng.normal(size=n), rng.normal(size=n)

    def sample(chunk: int, seed: int = 0, size: int = 100) -> ResidualSample:
        found = ResidualSample(size=size, seed=seed)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            found.update(np.arange(start, stop), actual[start:stop], predicted[start:stop])
        return found

    whole = sample(n)
    assert len(whole.records()) == 100
    for chunk in (1, 7, 999):
        assert sample(chunk).records() == whole.records()
    rows = np.sort(whole.rows)
    assert np.array_equal(whole.records()[0]["actual"], actual[rows[0]])
    assert [r["predicted"] for r in whole.records()] == list(predicted[rows])
    assert all(r["residual"] == r["actual"] - r["predicted"] for r in whole.records())
    # the kept rows are those with the smallest keys
    assert np.array_equal(rows, np.sort(np.argsort(row_keys(np.arange(n), 0))[:100]))
    assert not np.array_equal(np.sort(sample(n, seed=1).rows), rows)
    # uniform over the rows: the mean position of 100 of 5000 rows is 2500 ± 144 (one sd)
    assert abs(rows.mean() - (n - 1) / 2) < 4 * n / np.sqrt(12 * 100)
    assert len(sample(n, size=n + 5).records()) == n


def test_residuals_json_holds_at_most_1000_rows_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    table("regression", 300, seed=1).to_csv(tmp_path / "train.csv", index=False)
    table("regression", 1500, seed=2).to_csv(tmp_path / "test.csv", index=False)
    (tmp_path / "params.yaml").write_text(PARAMS["regression"])
    assert main(["train", "--data", "train.csv", "--target", "y", "--drop", "group",
                 "--out", "model.skops"]) == 0
    whole, part = evaluate_at(tmp_path, "regression", 1500), evaluate_at(tmp_path, "regression", 7)
    residuals = whole["plots"]["residuals.json"]
    assert len(residuals) == 1000
    assert [r["actual"] for r in part["plots"]["residuals.json"]] == [
        r["actual"] for r in residuals
    ]
    y = pd.read_csv(tmp_path / "test.csv")["y"].to_numpy()
    kept = np.sort(np.argsort(row_keys(np.arange(1500), 5))[:1000])  # --seed 5
    assert [r["actual"] for r in residuals] == list(y[kept])
