"""`mlops-ci evaluate` as a stage of a real DVC pipeline: `dvc repro` trains and evaluates,
DVC caches the predictions, and `dvc metrics show` / `dvc plots show` read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from conftest import clean_env, git, new_dvc_repo
from mlops_ci.evaluation.predictions import read_meta

DVC_YAML = """\
stages:
  train:
    cmd: mlops-ci train --data data/train.csv --target label --drop id,sex --out model.skops
    deps: [data/train.csv]
    params: [model]
    outs:
      - model.skops
      - model.train.json:
          cache: false
  evaluate:
    cmd: mlops-ci evaluate --model model.skops --data data/test.csv --target label --id id
    deps: [model.skops, model.train.json, data/test.csv, mlops.yaml]
    outs:
      - eval/predictions.parquet
      - eval/evaluation.json:
          cache: false
    metrics:
      - eval/metrics.json:
          cache: false
    plots:
      - eval/plots/roc.json:
          x: fpr
          y: tpr
      - eval/plots/precision_recall.json:
          x: recall
          y: precision
      - eval/plots/calibration.json:
          x: mean_predicted
          y: fraction_positive
      - eval/plots/confusion.json:
          template: confusion_count
          x: actual
          y: predicted
      - eval/plots/roc.png
      - eval/plots/confusion.png
"""
MLOPS_YAML = """\
model:
  task: binary-classification
evaluation:
  slices: [sex]
  replicates: 200
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.slow
def test_dvc_repro_runs_the_evaluate_stage_and_dvc_reads_its_outputs(tmp_path: Path) -> None:
    repo = new_dvc_repo(tmp_path / "repo")
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True).iloc[:400]
    frame.insert(0, "id", range(len(frame)))
    frame["sex"] = np.where(frame.index % 2, "female", "male")
    (repo / "data").mkdir()
    frame.iloc[:250].to_csv(repo / "data" / "train.csv", index=False)
    frame.iloc[250:].to_csv(repo / "data" / "test.csv", index=False)
    (repo / "params.yaml").write_text(
        "model:\n  estimator: sklearn.ensemble.RandomForestClassifier\n"
        "  params: {n_estimators: 8, max_depth: 4}\n"
    )
    (repo / "mlops.yaml").write_text(MLOPS_YAML)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    git("add", "--all", cwd=repo)

    done = run("repro", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((repo / "eval" / "metrics.json").read_text())
    assert metrics["rows"] == 150 and 0.8 < metrics["accuracy"] <= 1.0

    shown = run("metrics", "show", "--json", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    read = json.loads(shown.stdout)
    (workspace,) = read.values()
    assert workspace["data"]["eval/metrics.json"]["data"] == metrics

    plots = run("plots", "show", "--json", "eval/plots/roc.json", "eval/plots/roc.png", cwd=repo)
    assert plots.returncode == 0, plots.stderr
    assert "fpr" in plots.stdout and "tpr" in plots.stdout and "roc.png" in plots.stdout

    # the predictions are a cached out, recorded with their hash in dvc.lock
    lock = (repo / "dvc.lock").read_text()
    assert "eval/predictions.parquet" in lock
    status = run("status", "--json", cwd=repo)
    assert status.returncode == 0 and json.loads(status.stdout) == {}, status.stdout
    meta = read_meta(repo / "eval" / "predictions.parquet")
    assert meta.rows == 150 and meta.slices == ("sex",) and meta.id == "id"
    evaluation = json.loads((repo / "eval" / "evaluation.json").read_text())
    assert evaluation["replicates"] == 200
    assert {s["where"]["sex"] for s in evaluation["slices"]} == {"female", "male"}

    # removed from the workspace, the predictions come back from DVC's cache
    (repo / "eval" / "predictions.parquet").unlink()
    assert run("checkout", "eval/predictions.parquet", cwd=repo).returncode == 0
    assert read_meta(repo / "eval" / "predictions.parquet").rows == 150
