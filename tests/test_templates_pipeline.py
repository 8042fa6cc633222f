"""The template projects run end to end: `mlops-ci init --template NAME`, `dvc repro` (through
the built-in `mlops-ci train` and `mlops-ci evaluate`), `mlops-ci run`, DVC's own metrics
and plots commands on what they wrote, and a pull request's branch that changes a param, judged
against the base by the gates with evidence (McNemar's test, the paired bootstrap, a slice).

Each template is scaffolded and run once per module; each test that changes it works on a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas
import pytest
import yaml

from conftest import Result, clean_env, cli, dvc, git
from mlops_ci.evaluation.predictions import read_meta

pytestmark = pytest.mark.slow

# What the stages write, besides the tables prepare writes.
OUTPUTS = ["model.skops", "model.train.json", "eval/predictions.parquet", "eval/metrics.json",
           "eval/evaluation.json"]
PLOTS = {
    "classification": ["confusion", "roc", "precision_recall", "calibration"],
    "regression": ["errors", "residuals"],
}


@dataclass
class Scaffolded:
    root: Path  # the project, its first results committed on main
    first: Result  # the first `mlops-ci run`


def dvc_repro(root: Path) -> None:
    """A plain `dvc repro`, as a user runs it in an activated virtualenv: the stages find
    `python` and `mlops-ci` on PATH, beside this Python."""
    env = clean_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def scaffold_and_run(root: Path, template: str) -> Scaffolded:
    init = cli("init", "--template", template, "--no-workflows", str(root), cwd=root.parent)
    assert init.code == 0, init.stderr
    dvc_repro(root)
    first = cli("run", cwd=root)  # nothing left to reproduce: it compares, gates and reports
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "-m", "Record the first results", cwd=root)
    return Scaffolded(root=root, first=first)


@pytest.fixture(scope="module")
def classification(tmp_path_factory: pytest.TempPathFactory) -> Scaffolded:
    return scaffold_and_run(tmp_path_factory.mktemp("classification") / "p", "classification")


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> Scaffolded:
    return scaffold_and_run(tmp_path_factory.mktemp("regression") / "p", "regression")


@pytest.fixture(params=["classification", "regression"])
def scaffolded(request: pytest.FixtureRequest) -> tuple[str, Scaffolded]:
    return request.param, request.getfixturevalue(request.param)


def copy_of(project: Scaffolded, tmp_path: Path) -> Path:
    copy = tmp_path / "p"
    shutil.copytree(project.root, copy, symlinks=True)
    shutil.rmtree(copy / ".mlops", ignore_errors=True)
    return copy


def report(root: Path) -> dict[str, Any]:
    data = json.loads((root / ".mlops" / "report.json").read_text())
    assert isinstance(data, dict)
    return data


def gate(data: dict[str, Any], metric: str, *, sliced: bool = False) -> dict[str, Any]:
    (found,) = [g for g in data["gates"] if g["metric"] == metric and bool(g["slice"]) == sliced]
    return found


# --- the first run, on main ---------------------------------------------------------------


def test_the_first_run_reproduces_the_pipeline_and_passes(scaffolded: tuple[str, Scaffolded]):
    template, project = scaffolded
    assert project.first.code == 0, project.first.stdout + project.first.stderr
    root = project.root
    for name in OUTPUTS:
        assert (root / name).is_file(), name
    for name in PLOTS[template]:
        for suffix in (".json", ".png"):
            assert (root / "eval" / "plots" / f"{name}{suffix}").is_file(), name + suffix
    data = report(root)
    assert data["verdict"]["status"] == "pass"
    assert data["model"]["path"] == "model.skops"
    # the model and the data are DVC's (cached); the predictions (a few KB), metrics and plots
    # git's, so a fresh clone without a DVC remote has them
    tracked = set(git("ls-files", cwd=root).splitlines())
    assert {"dvc.lock", "eval/metrics.json", "eval/evaluation.json", "model.train.json",
            "eval/predictions.parquet"} <= tracked
    assert not {"model.skops", "data/test.parquet"} & tracked
    assert git("status", "--porcelain", cwd=root) == ""


def test_the_predictions_file_holds_the_slices_mlops_yaml_names(
    scaffolded: tuple[str, Scaffolded]
):
    template, project = scaffolded
    meta = read_meta(project.root / "eval" / "predictions.parquet")
    config = yaml.safe_load((project.root / "mlops.yaml").read_text())
    assert list(meta.slices) == config["evaluation"]["slices"]
    assert meta.task == ("binary" if template == "classification" else "regression")
    assert meta.rows == (143 if template == "classification" else 111)
    assert meta.model == "model.skops" and meta.metrics_file == "eval/metrics.json"


def test_dvc_metrics_show_reads_the_metrics(scaffolded: tuple[str, Scaffolded]):
    template, project = scaffolded
    shown = json.loads(dvc("metrics", "show", "--json", cwd=project.root))
    (workspace,) = shown.values()
    assert "error" not in workspace, workspace
    metrics = workspace["data"]["eval/metrics.json"]["data"]
    expected = {"accuracy", "roc_auc", "f1", "recall"} if template == "classification" else {
        "rmse", "r2", "mae"
    }
    evaluation = json.loads((project.root / "eval" / "evaluation.json").read_text())
    assert expected <= set(metrics) and metrics["rows"] == evaluation["rows"]


def test_dvc_plots_show_draws_every_plot(scaffolded: tuple[str, Scaffolded], tmp_path: Path):
    template, project = scaffolded
    root = copy_of(project, tmp_path)  # `dvc plots show` writes its images beside the project
    shown = json.loads(dvc("plots", "show", "--json", cwd=root))
    assert "errors" not in shown, shown["errors"]
    plots = shown["data"]
    for name in PLOTS[template]:
        (vega,) = plots[f"eval/plots/{name}.json"]
        assert vega["type"] == "vega" and vega["content"]["data"]["values"], name
        (image,) = plots[f"eval/plots/{name}.png"]
        assert image["type"] == "image", name
    if template == "classification":
        # drawn with mlops-ci's confusion_count template, which init put in .dvc/plots/
        (confusion,) = plots["eval/plots/confusion.json"]
        assert "mlops-ci's confusion matrix" in confusion["content"]["description"]
        cells = confusion["content"]["data"]["values"]
        assert sum(cell["count"] for cell in cells) == 143
    assert git("status", "--porcelain", cwd=root) == ""  # dvc_plots/ is ignored


# --- a pull request's branch: a changed param, compared with the base -------------------------


def branch_with(root: Path, old: str, new: str, message: str) -> None:
    git("checkout", "--quiet", "-b", "change", cwd=root)
    params = root / "params.yaml"
    text = params.read_text()
    assert old in text
    params.write_text(text.replace(old, new))
    git("commit", "--quiet", "-am", message, cwd=root)


def test_classification_a_shallower_forest_fails_the_slice_gate_not_the_noise(
    classification: Scaffolded, tmp_path: Path
):
    root = copy_of(classification, tmp_path)
    main = git("rev-parse", "main", cwd=root)
    branch_with(root, "max_depth: 6", "max_depth: 2", "Shallower trees")
    result = cli("run", cwd=root)
    data = report(root)
    assert data["base"]["rev"] == main
    assert [(p["name"], p["base"], p["head"]) for p in data["params"]] == [
        ("model.params.max_depth", 6, 2)
    ]
    accuracy = next(m for m in data["metrics"] if m["name"] == "accuracy")
    assert accuracy["base"] > accuracy["head"]  # fewer test rows right: 0.958 → 0.944
    # the gates with evidence: accuracy and f1 fell on the same 143 rows, by a few rows, which
    # McNemar's test and the paired bootstrap call noise; the recall on small tumours fell from
    # 0.67 to 0.47, under its floor of 0.6
    mcnemar = gate(data, "accuracy")
    assert mcnemar["test"] == "mcnemar" and mcnemar["p_value"] is not None
    assert mcnemar["significance"] == "within noise" and mcnemar["verdict"] == "pass"
    bootstrap = gate(data, "f1")
    assert bootstrap["test"] == "paired_bootstrap" and bootstrap["difference"] is not None
    assert bootstrap["significance"] == "within noise" and bootstrap["verdict"] == "pass"
    small = gate(data, "recall", sliced=True)
    assert small["slice"] == {"size": "small"}
    assert small["verdict"] == "fail" and small["head"] < 0.6 < small["base"]
    assert result.code == 1, result.stdout + result.stderr
    assert data["evaluation"]["task"] == "binary" and data["evaluation"]["base_rows"] == 143
    # the report's confusion matrix has a row per actual class: the malignant row holds every
    # malignant test row, base and head alike
    (plot,) = [p for p in data["plots"] if p["kind"] == "confusion"]
    test = pandas.read_parquet(root / "data" / "test.parquet")
    malignant = int((test["diagnosis"] == "malignant").sum())
    for matrix in (plot["base_matrix"], plot["head_matrix"]):
        assert matrix["labels"] == ["benign", "malignant"]
        assert sum(matrix["counts"][1]) == malignant == 53


def test_regression_a_stronger_ridge_is_compared_with_evidence(
    regression: Scaffolded, tmp_path: Path
):
    root = copy_of(regression, tmp_path)
    main = git("rev-parse", "main", cwd=root)
    branch_with(root, "alpha: 1.0", "alpha: 100.0", "Stronger regularisation")
    result = cli("run", cwd=root)
    data = report(root)
    assert data["base"]["rev"] == main
    assert [(p["name"], p["base"], p["head"]) for p in data["params"]] == [
        ("model.params.alpha", 1.0, 100.0)
    ]
    rmse = gate(data, "rmse")
    assert rmse["base"] is not None and rmse["head"] != rmse["base"]
    assert rmse["test"] == "paired_bootstrap" and rmse["difference"] is not None
    assert rmse["significance"] == "within noise" and rmse["verdict"] == "pass"
    young = gate(data, "rmse", sliced=True)
    assert young["slice"] == {"age_group": "under 40"} and young["verdict"] == "pass"
    assert result.code == 0, result.stdout + result.stderr
    assert data["evaluation"]["task"] == "regression" and data["evaluation"]["base_rows"] == 111
