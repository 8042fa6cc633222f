"""`mlops-ci evaluate` through the real entry point: real scikit-learn models trained by
`mlops-ci train`, real files; each value checked against scikit-learn on the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from mlops_ci.__main__ import main
from mlops_ci.evaluation.bootstrap import metric_names
from mlops_ci.evaluation.predictions import read_meta, read_prediction_chunks
from mlops_ci.evaluation.train_info import read_train_info
from mlops_ci.models import load_model

FOREST = "model:\n  estimator: sklearn.ensemble.RandomForestClassifier\n  params: {n_estimators: 12, max_depth: 4}\n"  # noqa: E501
LOGISTIC = (
    "model:\n  steps:\n    - estimator: sklearn.preprocessing.StandardScaler\n"
    "    - estimator: sklearn.linear_model.LogisticRegression\n      params: {max_iter: 500}\n"
)
SVM = (
    "model:\n  steps:\n    - estimator: sklearn.preprocessing.StandardScaler\n"
    "    - estimator: sklearn.svm.LinearSVC\n"
)
RIDGE = "model:\n  estimator: sklearn.linear_model.Ridge\n  params: {alpha: 0.5}\n"


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def train_model(
    capsys: pytest.CaptureFixture[str], where: Path, frame: pd.DataFrame, params: str,
    target: str, drop: str = "id,sex",
) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    frame.to_csv(where / "train.csv", index=False)
    (where / "params.yaml").write_text(params)
    code, _, err = cli(
        capsys, "train", "--data", where / "train.csv", "--target", target, "--drop", drop,
        "--out", where / "model.skops", "--params", where / "params.yaml",
    )
    assert code == 0, err
    return where / "model.skops"


def with_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    frame["sex"] = np.where(np.arange(len(frame)) % 3 == 0, "female", "male")
    return frame


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    return with_columns(frame.sample(frac=1.0, random_state=1))


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def binary(work: Path, cancer: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> Path:
    cancer.iloc[:300].to_csv(work / "test.csv", index=False)
    return train_model(capsys, work / "m", cancer.iloc[300:], FOREST, "label")


def trained(path: Path) -> Any:
    info = read_train_info(path.with_name("model.train.json"))
    return load_model(path, trusted_types=info["trusted_types"]), info["data"]["features"]


def evaluate(capsys: pytest.CaptureFixture[str], model: Path, *args: str) -> tuple[int, str]:
    code, _, err = cli(
        capsys, "evaluate", "--model", model, "--data", "test.csv", "--no-progress", *args
    )
    return code, err


def test_binary_metrics_predictions_slices_and_plots_equal_scikit_learn(
    work: Path, binary: Path, cancer: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = evaluate(capsys, binary, "--target", "label", "--id", "id", "--slice", "sex")
    assert code == 0, err
    test = pd.read_csv(work / "test.csv")  # the rows as evaluate reads them
    model, features = trained(binary)
    y, pred = test["label"].to_numpy(), model.predict(test[features])
    proba = model.predict_proba(test[features])[:, 1]
    metrics = json.loads((work / "eval" / "metrics.json").read_text())
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "specificity": skm.recall_score(y, pred, pos_label=0),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "mcc": skm.matthews_corrcoef(y, pred),
        "roc_auc": skm.roc_auc_score(y, proba),
        "average_precision": skm.average_precision_score(y, proba),
        "log_loss": skm.log_loss(y, proba),
        "brier": skm.brier_score_loss(y, proba),
    }
    assert set(metrics) == {*expected, "rows"} and metrics["rows"] == 300
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, abs=1e-12), name

    meta = read_meta(work / "eval" / "predictions.parquet")
    assert (meta.task, meta.labels, meta.pos_label, meta.rows) == ("binary", (0, 1), 1, 300)
    assert (meta.id, meta.slices, meta.target) == ("id", ("sex",), "label")
    assert meta.metrics_file == "eval/metrics.json" and meta.data == "test.csv"
    (rows,) = read_prediction_chunks(work / "eval" / "predictions.parquet")
    assert list(rows["row"]) == list(range(300)) and list(rows["id"]) == list(test["id"])
    assert list(rows["y_true"]) == list(y) and list(rows["y_pred"]) == list(pred)
    assert np.array_equal(rows["y_score"], proba)
    assert list(rows["slice:sex"]) == list(test["sex"])

    document = json.loads((work / "eval" / "evaluation.json").read_text())
    assert document["task"] == "binary" and document["labels"] == [0, 1]
    assert (document["confidence"], document["replicates"], document["seed"]) == (0.95, 1000, 0)
    # every counting metric has a bootstrap interval around its value, ROC AUC DeLong's, and
    # the other rank and probability metrics none
    assert set(document["intervals"]) == {*metric_names("binary"), "roc_auc"}
    for name, interval in document["intervals"].items():
        assert interval["low"] <= metrics[name] <= interval["high"], name
        assert interval["method"] == ("delong" if name == "roc_auc" else "poisson_bootstrap")
    # DeLong's variance from the placements of every (positive, negative) pair, O(m n)
    pos, neg = proba[y == 1], proba[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    half = 1.959963984540054 * np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    auc = document["intervals"]["roc_auc"]
    assert auc["low"] == pytest.approx(max(0.0, psi.mean() - half), abs=1e-12)
    assert auc["high"] == pytest.approx(min(1.0, psi.mean() + half), abs=1e-12)
    female = test["sex"] == "female"
    found = {s["where"]["sex"]: s for s in document["slices"]}
    assert found["female"]["rows"] == int(female.sum())
    assert found["female"]["metrics"]["recall"] == pytest.approx(
        skm.recall_score(y[female], pred[female]), abs=1e-12
    )
    assert found["male"]["metrics"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y[~female], proba[~female]), abs=1e-12
    )

    plots = work / "eval" / "plots"
    drawn = ["calibration", "confusion", "precision_recall", "roc"]
    assert sorted(p.name for p in plots.iterdir()) == sorted(
        [f"{name}.json" for name in drawn] + [f"{name}.png" for name in drawn]
    )
    cells = json.loads((plots / "confusion.json").read_text())
    matrix = skm.confusion_matrix(y, pred)
    assert [c["count"] for c in cells] == matrix.ravel().tolist()
    roc = json.loads((plots / "roc.json").read_text())
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0, "threshold": None} and roc[-1]["tpr"] == 1.0


def test_the_summary_names_rows_metrics_and_intervals(
    work: Path, binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "evaluate", "--model", binary, "--data", "test.csv",
                       "--target", "label", "--no-progress", "--replicates", "200")
    assert code == 0
    assert "evaluated 300 rows of test.csv (binary): accuracy" in out and "95 % intervals" in out


def test_multiclass_probabilities_in_label_order(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iris = load_iris(as_frame=True).frame.sample(frac=1.0, random_state=0)
    iris["target"] = np.array(["setosa", "versicolor", "virginica"])[iris["target"]]
    iris = with_columns(iris)
    iris.iloc[:90].to_csv(work / "test.csv", index=False)
    model_path = train_model(capsys, work / "m", iris.iloc[90:], LOGISTIC, "target")
    code, err = evaluate(capsys, model_path, "--target", "target", "--replicates", "200")
    assert code == 0, err
    model, features = trained(model_path)
    test = pd.read_csv(work / "test.csv")
    y, pred = test["target"].to_numpy(), model.predict(test[features])
    proba = model.predict_proba(test[features])
    metrics = json.loads((work / "eval" / "metrics.json").read_text())
    labels = ["setosa", "versicolor", "virginica"]
    for average in ("macro", "weighted"):
        assert metrics[f"{average}_f1"] == pytest.approx(
            skm.f1_score(y, pred, average=average, labels=labels), abs=1e-12
        )
        assert metrics[f"{average}_recall"] == pytest.approx(
            skm.recall_score(y, pred, average=average, labels=labels), abs=1e-12
        )
    assert metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=labels), abs=1e-12)
    meta = read_meta(work / "eval" / "predictions.parquet")
    assert meta.task == "multiclass" and meta.labels == tuple(labels) and meta.pos_label is None
    (rows,) = read_prediction_chunks(work / "eval" / "predictions.parquet")
    assert np.array_equal(np.stack([rows[f"y_proba_{j}"] for j in range(3)], axis=1), proba)
    assert list(rows["y_pred"]) == list(pred)
    document = json.loads((work / "eval" / "evaluation.json").read_text())
    assert set(document["intervals"]) == set(metric_names("multiclass"))
    assert sorted(p.name for p in (work / "eval" / "plots").iterdir()) == [
        "confusion.json", "confusion.png",
    ]


def test_regression_metrics_residuals_and_errors(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = with_columns(load_diabetes(as_frame=True).frame.sample(frac=1.0, random_state=0))
    frame.iloc[:200].to_csv(work / "test.csv", index=False)
    model_path = train_model(capsys, work / "m", frame.iloc[200:], RIDGE, "target")
    code, err = evaluate(capsys, model_path, "--target", "target", "--replicates", "100")
    assert code == 0, err
    model, features = trained(model_path)
    test = pd.read_csv(work / "test.csv")
    y, pred = test["target"].to_numpy(), model.predict(test[features])
    metrics = json.loads((work / "eval" / "metrics.json").read_text())
    assert metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-12)
    assert metrics["mse"] == pytest.approx(skm.mean_squared_error(y, pred), rel=1e-12)
    assert metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-12)
    assert metrics["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-12)
    assert metrics["mean_error"] == pytest.approx(float(np.mean(pred - y)), abs=1e-9)
    plots = work / "eval" / "plots"
    assert sorted(p.name for p in plots.iterdir()) == [
        "errors.json", "errors.png", "residuals.json", "residuals.png",
    ]
    residuals = json.loads((plots / "residuals.json").read_text())
    assert len(residuals) == 200  # fewer rows than the sample's bound: every row, in order
    assert [r["actual"] for r in residuals] == list(y)
    assert all(r["residual"] == pytest.approx(r["actual"] - r["predicted"]) for r in residuals)
    assert sum(b["count"] for b in json.loads((plots / "errors.json").read_text())) == 200
    meta = read_meta(work / "eval" / "predictions.parquet")
    assert meta.task == "regression" and meta.labels is None
    document = json.loads((work / "eval" / "evaluation.json").read_text())
    assert set(document["intervals"]) == set(metric_names("regression"))
    assert document["labels"] is None


def test_a_model_without_probabilities_is_scored_by_its_decision_function(
    work: Path, cancer: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    cancer.iloc[:200].to_csv(work / "test.csv", index=False)
    model_path = train_model(capsys, work / "m", cancer.iloc[200:], SVM, "label")
    code, err = evaluate(capsys, model_path, "--target", "label", "--replicates", "100")
    assert code == 0, err
    model, features = trained(model_path)
    test = pd.read_csv(work / "test.csv")
    scores = model.decision_function(test[features])
    metrics = json.loads((work / "eval" / "metrics.json").read_text())
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(test["label"], scores), abs=1e-12)
    assert "log_loss" not in metrics and "brier" not in metrics  # scores, not probabilities
    (rows,) = read_prediction_chunks(work / "eval" / "predictions.parquet")
    assert np.array_equal(rows["y_score"], scores)
    assert not (work / "eval" / "plots" / "calibration.json").exists()


def test_defaults_come_from_mlops_yaml_and_flags_win(
    work: Path, binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "mlops.yaml").write_text(
        "model:\n  task: binary-classification\n"
        "evaluation:\n  predictions: out/preds.parquet\n  slices: [sex, [sex, id]]\n"
        "  confidence: 0.9\n  replicates: 150\n  seed: 3\n"
    )
    code, err = evaluate(capsys, binary, "--target", "label", "--seed", "4")
    assert code == 0, err
    document = json.loads((work / "eval" / "evaluation.json").read_text())
    assert (document["confidence"], document["replicates"], document["seed"]) == (0.9, 150, 4)
    assert {tuple(s["where"]) for s in document["slices"]} == {("sex",), ("sex", "id")}
    meta = read_meta(work / "out" / "preds.parquet")
    assert meta.slices == ("sex", "id") and meta.task == "binary"
    assert not (work / "eval" / "predictions.parquet").exists()

    (work / "mlops.yaml").write_text("model:\n  task: regression\n")
    code, err = evaluate(capsys, binary, "--target", "label")
    assert code == 2
    assert "mlops.yaml's model.task (regression) asks for a regression, but the model " \
        "(RandomForestClassifier) is a classifier" in err
    code, err = evaluate(capsys, binary, "--target", "label", "--task", "binary",
                         "--replicates", "100")
    assert code == 0, err

    (work / "mlops.yaml").write_text("model:\n  task: tabular-classification\n")
    code, err = evaluate(capsys, binary, "--target", "label", "--replicates", "100")
    assert code == 0, err
    assert read_meta(work / "eval" / "predictions.parquet").task == "binary"

    (work / "mlops.yaml").write_text("evaluation:\n  predictions: ../outside.parquet\n")
    code, err = evaluate(capsys, binary, "--target", "label")
    assert code == 2 and "evaluation.predictions" in err


def test_multiclass_task_for_a_binary_model_and_binary_for_three_classes(
    work: Path, binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = evaluate(capsys, binary, "--target", "label", "--task", "regression")
    assert code == 2 and "--task asks for a regression" in err
    code, err = evaluate(capsys, binary, "--target", "label", "--task", "multiclass",
                         "--replicates", "100")
    assert code == 0, err  # two classes evaluated as a multiclass task: allowed
    assert read_meta(work / "eval" / "predictions.parquet").task == "multiclass"


def test_help_lists_evaluate_and_imports_no_heavy_library() -> None:
    probe = (
        "import sys\nfrom mlops_ci.__main__ import main\n"
        "code = main(['evaluate', '--help'])\n"
        "heavy = [m for m in ('numpy', 'pandas', 'sklearn', 'pyarrow', 'matplotlib', 'dvc')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, timeout=60)
    assert "HEAVY [] 0" in done.stdout, done.stdout + done.stderr
    assert "--allow-pickle" in done.stdout and "--no-images" in done.stdout


def test_parquet_gives_what_csv_gives_and_the_progress_bar_reports_rows(
    work: Path, binary: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pd.read_csv(work / "test.csv").to_parquet(work / "test.parquet", index=False)
    monkeypatch.setenv("MLOPS_CI_PROGRESS", "1")  # plain progress lines, as in a CI log
    results = {}
    for name in ("test.csv", "test.parquet"):
        code, _, err = cli(capsys, "evaluate", "--model", binary, "--data", name, "--target",
                           "label", "--chunk-rows", "64", "--replicates", "100",
                           "--metrics", f"{name[5:]}/metrics.json")
        assert code == 0, err
        assert f"Evaluating {name}" in err and "300 rows" in err
        results[name] = json.loads((work / name[5:] / "metrics.json").read_text())
    assert results["test.csv"] == results["test.parquet"]
    code, _, err = cli(capsys, "evaluate", "--model", binary, "--data", "test.csv", "--target",
                       "label", "--replicates", "100", "--no-progress")
    assert code == 0 and "Evaluating" not in err
    # an output path that cannot be written is refused before the slow work
    code, _, err = cli(capsys, "evaluate", "--model", binary, "--data", "test.csv", "--target",
                       "label", "--metrics", "test.csv/metrics.json")
    assert code == 2 and "--metrics test.csv/metrics.json: test.csv is a file" in err
    assert "Evaluating" not in err


def test_images_are_drawn_beside_the_plot_data_unless_no_images(
    work: Path, binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = evaluate(capsys, binary, "--target", "label", "--replicates", "100")
    assert code == 0, err
    plots = work / "eval" / "plots"
    assert {p.stem for p in plots.glob("*.png")} == {p.stem for p in plots.glob("*.json")}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in plots.glob("*.png"))
    assert not [p for p in (work / "eval").iterdir() if p.name.startswith(".")]
    for image in plots.glob("*.png"):
        image.unlink()
    code, err = evaluate(capsys, binary, "--target", "label", "--replicates", "100",
                         "--no-images")
    assert code == 0, err
    assert not list(plots.glob("*.png"))


def test_the_predictions_record_paths_relative_to_the_dvc_repository(tmp_path: Path) -> None:
    from mlops_ci.commands.evaluate import recorded_path

    (tmp_path / "repo" / ".dvc").mkdir(parents=True)
    stage = tmp_path / "repo" / "models"
    stage.mkdir()
    assert recorded_path(Path("eval/metrics.json"), stage) == "models/eval/metrics.json"
    assert recorded_path(stage / "model.skops", stage) == "models/model.skops"
    assert recorded_path(Path("../data/test.csv"), stage) == "data/test.csv"
    assert recorded_path(Path("eval/m.json"), tmp_path) == "eval/m.json"  # no repository here
    outside = tmp_path / "elsewhere.csv"
    assert recorded_path(outside, stage) is None  # absolute: no name inside the repository
    assert recorded_path(Path("../x.csv"), tmp_path) is None  # no repository, and climbs out
