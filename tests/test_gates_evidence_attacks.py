"""Attacks on the gates that know noise from change (a hostile review's, kept as tests).

The rule's point values come from metrics.json, its evidence from the predictions file: a
predictions file that was not regenerated (or written by another model) must not make a real,
large regression "within noise", nor show its interval beside another model's value. Then gate
configurations the schema accepts and a run must be able to use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import cli, dvc, git, new_dvc_repo
from mlops_ci.config import load_config
from mlops_ci.errors import ConfigError

EVALUATE = """\
import json, os
import numpy as np
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.evaluation.predictions_writer import write_predictions

spec = json.load(open("spec.json"))
n = spec["n"]
rng = np.random.default_rng(7)
y = rng.integers(0, 2, n)
def predicted(wrong):
    pred = y.copy()
    wrong = np.array(wrong, dtype=int)
    pred[wrong] = 1 - pred[wrong]
    return pred
os.makedirs("eval", exist_ok=True)
meta = PredictionsMeta(task="binary", target="label", labels=(0, 1), pos_label=1,
                       metrics_file="eval/metrics.json")
write_predictions("eval/predictions.parquet", meta, {
    "row": np.arange(n), "y_true": y, "y_pred": predicted(spec["predictions_wrong"])})
scored = predicted(spec["metrics_wrong"])
json.dump({"accuracy": float((scored == y).mean())}, open("eval/metrics.json", "w"))
"""

DVC_YAML = f"""\
stages:
  evaluate:
    cmd: {sys.executable} evaluate.py
    deps: [spec.json, evaluate.py]
    outs: [eval/predictions.parquet]
    metrics:
      - eval/metrics.json:
          cache: false
"""

MLOPS = """\
model: {name: m, path: eval/predictions.parquet}
evaluation:
  replicates: 200
gates:
  - metric: accuracy
    max_drop: 0
    test: mcnemar
"""


def _repo(tmp_path: Path, base: dict, head: dict) -> Path:  # type: ignore[type-arg]
    root = new_dvc_repo(tmp_path / "repo")
    (root / "evaluate.py").write_text(EVALUATE)
    (root / "mlops.yaml").write_text(MLOPS)
    (root / ".gitignore").write_text(".mlops/\n")
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "spec.json").write_text(json.dumps(base))
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    git("checkout", "-qb", "change", cwd=root)
    (root / "spec.json").write_text(json.dumps(head))
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "head", cwd=root)
    return root


def test_a_stale_predictions_file_does_not_make_a_big_drop_within_noise(tmp_path: Path) -> None:
    n = 5000
    base = {"n": n, "predictions_wrong": list(range(250)), "metrics_wrong": list(range(250))}
    # the head's model is far worse (accuracy 0.95 -> 0.75 on 5000 rows), but the predictions
    # file still holds the base model's predictions
    head = {"n": n, "predictions_wrong": list(range(250)), "metrics_wrong": list(range(1250))}
    root = _repo(tmp_path, base, head)
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    report = json.loads((root / ".mlops" / "report.json").read_text())
    (gate,) = report["gates"]
    assert gate["head"] == 0.75 and gate["base"] == 0.95
    # a drop of 0.2 at 5000 rows cannot be noise: either the gate fails, or the evidence is
    # refused because it does not describe the gated numbers
    assert result.code == 1, (gate["verdict"], gate["explanation"])


def test_the_head_interval_shown_beside_a_value_contains_it(tmp_path: Path) -> None:
    # same stale file: the comment shows accuracy 0.7500 with the base model's interval
    n = 5000
    base = {"n": n, "predictions_wrong": list(range(250)), "metrics_wrong": list(range(250))}
    head = {"n": n, "predictions_wrong": list(range(250)), "metrics_wrong": list(range(1250))}
    root = _repo(tmp_path, base, head)
    cli("run", "--no-repro", "--base", "main", cwd=root)
    report = json.loads((root / ".mlops" / "report.json").read_text())
    accuracy = next(m for m in report["metrics"] if m["name"] == "accuracy")
    # no interval at all (the predictions do not describe this value), or one that holds it
    if accuracy["head_interval"] is not None:
        low, high = accuracy["head_interval"]
        assert low <= accuracy["head"] <= high, (accuracy["head"], accuracy["head_interval"])
    (gate,) = report["gates"]
    assert gate["significance"] is None and gate["p_value"] is None
    assert "0.95" in gate["evidence_note"] and "0.75" in gate["evidence_note"]
    assert "mlops-ci evaluate" in gate["evidence_note"]


EVALUATE_SCORES = """\
import json, os
import numpy as np
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.evaluation.predictions_writer import write_predictions

spec = json.load(open("spec.json"))
n = 4000
rng = np.random.default_rng(3)
y = rng.integers(0, 2, n)
score = np.round(np.clip(y * 0.6 + rng.normal(0.2, 0.25, n), 0, 1), 3)
os.makedirs("eval", exist_ok=True)
# the predictions say they are the ones behind eval/metrics.json ...
meta = PredictionsMeta(task="binary", target="label", labels=(0, 1), pos_label=1,
                       metrics_file="eval/metrics.json")
write_predictions("eval/predictions.parquet", meta, {
    "row": np.arange(n), "y_true": y, "y_pred": (score >= 0.5).astype(int), "y_score": score})
# ... but the gated numbers are another evaluation's, in metrics.json
json.dump({"accuracy": spec["accuracy"], "roc_auc": spec["roc_auc"]}, open("metrics.json", "w"))
"""

DVC_SCORES = f"""\
stages:
  evaluate:
    cmd: {sys.executable} evaluate.py
    deps: [spec.json, evaluate.py]
    outs: [eval/predictions.parquet]
    metrics:
      - metrics.json:
          cache: false
"""


def _scores_repo(tmp_path: Path, gate: str) -> Path:
    root = new_dvc_repo(tmp_path / "repo")
    (root / "evaluate.py").write_text(EVALUATE_SCORES)
    (root / "mlops.yaml").write_text(
        "model: {name: m, path: eval/predictions.parquet}\nevaluation:\n  replicates: 200\n"
        f"gates:\n{gate}"
    )
    (root / ".gitignore").write_text(".mlops/\n")
    (root / "dvc.yaml").write_text(DVC_SCORES)
    (root / "spec.json").write_text(json.dumps({"accuracy": 0.95, "roc_auc": 0.97}))
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    git("checkout", "-qb", "change", cwd=root)
    (root / "spec.json").write_text(json.dumps({"accuracy": 0.70, "roc_auc": 0.70}))
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "head", cwd=root)
    return root


def test_mcnemar_refuses_predictions_of_another_metrics_file(tmp_path: Path) -> None:
    # the check that exists for McNemar and the paired bootstrap (the control)
    root = _scores_repo(tmp_path, "  - metric: accuracy\n    max_drop: 0\n    test: mcnemar\n")
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    assert result.code == 2
    assert "holds the predictions behind eval/metrics.json" in result.stderr


def test_delong_refuses_predictions_of_another_metrics_file_too(tmp_path: Path) -> None:
    root = _scores_repo(tmp_path, "  - metric: roc_auc\n    max_drop: 0\n    test: delong\n")
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    # roc_auc of metrics.json fell 0.97 -> 0.70; DeLong's test ran on eval/metrics.json's
    # predictions (unchanged) and called it noise. Refused as McNemar's is:
    assert result.code == 2, result.stdout[-800:]
    assert "holds the predictions behind eval/metrics.json" in result.stderr
    assert "Traceback" not in result.stderr
@pytest.mark.parametrize("gate", [
    "  - metric: eval/metrics.json:accuracy\n    max_drop: 0\n    test: mcnemar\n",
    "  - metric: eval/metrics.json:roc_auc\n    max_drop: 0\n    test: delong\n",
])
def test_a_tested_gate_may_name_its_metric_with_its_file(tmp_path: Path, gate: str) -> None:
    # With train/metrics.json and eval/metrics.json both holding accuracy, `metric: accuracy`
    # is refused as ambiguous ("name one of them as 'eval/metrics.json:accuracy'"), and
    # evidence_checks even advises "gate 'eval/metrics.json:accuracy'" -- which this refuses.
    (tmp_path / "mlops.yaml").write_text(
        "model: {name: m, path: m.pkl}\ngates:\n" + gate
    )
    try:
        load_config(tmp_path / "mlops.yaml", pipeline=False)
    except ConfigError as exc:
        pytest.fail(f"refused: {exc}")


def test_a_tiny_alpha_the_schema_accepts_does_not_break_the_run(tmp_path: Path) -> None:
    n = 400
    spec = {"n": n, "predictions_wrong": list(range(20)), "metrics_wrong": list(range(20))}
    head = {"n": n, "predictions_wrong": list(range(25)), "metrics_wrong": list(range(25))}
    root = _repo(tmp_path, spec, head)
    mlops = (root / "mlops.yaml").read_text()
    (root / "mlops.yaml").write_text(mlops + "    alpha: 1.0e-17\n")
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    # alpha 1e-17 was "above 0 and below 0.5"; 1 - alpha is 1.0, and the run stopped with
    # "The interval level must be between 0 and 1 (0.95 for 95 %), not 1.0." Now the schema
    # bounds it, and says which gate and key
    assert result.code == 2, result.stderr[-600:]
    assert "gates[0].alpha" in result.stderr and "0.000001" in result.stderr, result.stderr
    assert "interval level" not in result.stderr and "Traceback" not in result.stderr
    # the smallest alpha the schema takes runs to a verdict
    (root / "mlops.yaml").write_text(mlops + "    alpha: 1.0e-6\n")
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    assert result.code in (0, 1), result.stderr[-600:]
    (gate,) = json.loads((root / ".mlops" / "report.json").read_text())["gates"]
    assert gate["alpha"] == 1e-6 and gate["p_value"] is not None


def test_a_rank_metric_named_with_its_file_has_no_paired_bootstrap(tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text(
        "model: {name: m, path: m.pkl}\ngates:\n"
        "  - metric: eval/metrics.json:roc_auc\n    max_drop: 0\n    test: paired_bootstrap\n"
    )
    with pytest.raises(ConfigError, match="rank metric .* use test: delong"):
        load_config(tmp_path / "mlops.yaml", pipeline=False)
