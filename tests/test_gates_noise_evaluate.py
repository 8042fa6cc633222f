"""The whole chain: `mlops-ci train` and `mlops-ci evaluate` as DVC stages, base and head each
reproduced and pushed, and `mlops-ci run` in a fresh clone judging a tested gate and a slice gate
from the predictions `evaluate` wrote (the base's from the DVC remote).

150 test rows, as in the issue: a change of a row or two in accuracy is noise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from conftest import clean_env, cli, git, new_dvc_repo

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
    deps: [model.skops, model.train.json, data/test.csv]
    outs:
      - eval/predictions.parquet
      - eval/evaluation.json:
          cache: false
    metrics:
      - eval/metrics.json:
          cache: false
"""
MLOPS_YAML = """\
model: {name: cancer, path: model.skops, task: binary-classification}
evaluation:
  slices: [sex]
  replicates: 300
gates:
  - metric: accuracy
    max_drop: 0
    test: mcnemar
  - metric: recall
    min: 0.5
    slice: {sex: female}
"""
PARAMS = "model:\n  estimator: sklearn.tree.DecisionTreeClassifier\n  params: {{max_depth: {}}}\n"


def dvc(*args: str, cwd: Path) -> str:
    env = clean_env()  # the stages call `mlops-ci`: this interpreter's
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_run_in_a_fresh_clone_judges_evaluates_predictions(tmp_path: Path) -> None:
    repo = new_dvc_repo(tmp_path / "repo")
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True).iloc[:400]
    frame.insert(0, "id", range(len(frame)))
    frame["sex"] = np.where(frame.index % 2, "female", "male")
    (repo / "data").mkdir()
    frame.iloc[:250].to_csv(repo / "data" / "train.csv", index=False)
    frame.iloc[250:].to_csv(repo / "data" / "test.csv", index=False)
    (repo / "params.yaml").write_text(PARAMS.format(3))
    (repo / "mlops.yaml").write_text(MLOPS_YAML)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / ".gitignore").write_text(".mlops/\n")
    dvc("remote", "add", "-d", "storage", str(tmp_path / "remote"), cwd=repo)
    dvc("repro", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    dvc("push", cwd=repo)
    base_metrics = json.loads((repo / "eval" / "metrics.json").read_text())
    git("checkout", "-qb", "change", cwd=repo)
    (repo / "params.yaml").write_text(PARAMS.format(4))
    dvc("repro", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "-qm", "head", cwd=repo)
    dvc("push", cwd=repo)
    head_metrics = json.loads((repo / "eval" / "metrics.json").read_text())
    evaluation = json.loads((repo / "eval" / "evaluation.json").read_text())
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("push", "-q", str(origin), "main", "change", cwd=repo)
    clone = tmp_path / "clone"
    git("clone", "-q", "-b", "change", str(origin), str(clone), cwd=tmp_path)
    dvc("pull", cwd=clone)  # the head's outputs: the base's predictions stay in the remote

    result = cli("run", "--no-repro", "--base", "origin/main", cwd=clone)
    assert result.code in (0, 1), result.stdout + result.stderr
    report = json.loads((clone / ".mlops" / "report.json").read_text())
    assert report["evaluation"]["rows"] == 150 and report["evaluation"]["base_rows"] == 150
    assert report["evaluation"]["note"] is None
    accuracy = next(m for m in report["metrics"] if m["name"] == "accuracy")
    assert accuracy["base"] == base_metrics["accuracy"]
    assert accuracy["head"] == head_metrics["accuracy"]
    assert accuracy["head_interval"][0] <= accuracy["head"] <= accuracy["head_interval"][1]
    assert accuracy["base_interval"][0] <= accuracy["base"] <= accuracy["base_interval"][1]
    tested, sliced = report["gates"]
    assert tested["test"] == "mcnemar" and 0 < tested["p_value"] <= 1
    changed = round(abs(accuracy["head"] - accuracy["base"]) * 150)
    assert changed <= 3, "the head moved more than a few rows: choose other depths"
    assert accuracy["head"] < accuracy["base"]  # depth 4 gets one row fewer right than 3: noise
    assert tested["verdict"] == "pass" and tested["significance"] == "within noise"
    assert "within noise" in tested["explanation"]
    # the slice gate's value is evaluate's own, computed on the same rows
    (female,) = [s for s in evaluation["slices"] if s["where"] == {"sex": "female"}]
    assert sliced["slice"] == {"sex": "female"}
    assert sliced["head"] == pytest.approx(female["metrics"]["recall"], abs=1e-12)
