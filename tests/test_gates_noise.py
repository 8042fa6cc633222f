"""Gates that know noise from change, end to end: real git, real dvc, a local-directory remote.

The evaluate stage writes its per-row predictions (a DVC-cached output, with the evaluate
stage's own writer) and metrics.json. The base is committed on main and pushed; the head on a
branch; the checks run in a fresh clone with only origin/* branches and an empty DVC cache, so
the base's predictions come from the remote.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import cli, dvc, git, new_dvc_repo

EVALUATE = """\
import json, os
import numpy as np
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.evaluation.predictions_writer import write_predictions

spec = json.load(open("spec.json"))
n = spec["n"]
rng = np.random.default_rng(7)
y = rng.integers(0, 2, n)
pred = y.copy()
wrong = np.array(spec["wrong"], dtype=int)
pred[wrong] = 1 - pred[wrong]
sex = np.where(np.arange(n) % 2 == 0, "female", "male").astype(object)
os.makedirs("eval", exist_ok=True)
meta = PredictionsMeta(task="binary", target="label", labels=(0, 1), pos_label=1,
                       slices=("sex",), metrics_file="eval/metrics.json")
write_predictions("eval/predictions.parquet", meta, {
    "row": np.arange(n), "y_true": y, "y_pred": pred, "slice:sex": sex})
female = sex == "female"
recall_f = float(((pred == 1) & (y == 1) & female).sum() / ((y == 1) & female).sum())
json.dump({"accuracy": float((pred == y).mean()), "recall_female": recall_f},
          open("eval/metrics.json", "w"))
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

MCNEMAR = """\
model: {name: m, path: eval/predictions.parquet}
evaluation:
  slices: [sex]
  replicates: 200
gates:
  - metric: accuracy
    max_drop: 0
    test: mcnemar
"""


def spec(root: Path, n: int, wrong: list[int]) -> None:
    (root / "spec.json").write_text(json.dumps({"n": n, "wrong": wrong}))


def make_clone(
    tmp_path: Path, n: int, base_wrong: list[int], head_wrong: list[int], mlops: str = MCNEMAR,
    *, base_has_predictions: bool = True, push: bool = True,
) -> Path:
    """Base on main (pushed to origin and the DVC remote), head on `change`; a fresh clone."""
    root = new_dvc_repo(tmp_path / "repo")
    (root / "evaluate.py").write_text(EVALUATE)
    (root / "mlops.yaml").write_text(mlops)
    (root / ".gitignore").write_text(".mlops/\n")
    dvc("remote", "add", "-d", "storage", str(tmp_path / "remote"), cwd=root)
    spec(root, n, base_wrong)
    if base_has_predictions:
        (root / "dvc.yaml").write_text(DVC_YAML)
        dvc("repro", cwd=root)
    else:  # before `mlops-ci evaluate`: metrics only, committed
        (root / "dvc.yaml").write_text(
            DVC_YAML.replace("    outs: [eval/predictions.parquet]\n", "")
        )
        dvc("repro", cwd=root)
        (root / "eval" / "predictions.parquet").unlink()
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    if push:
        dvc("push", cwd=root)
    git("checkout", "-qb", "change", cwd=root)
    (root / "dvc.yaml").write_text(DVC_YAML)
    spec(root, n, head_wrong)
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "head", cwd=root)
    dvc("push", cwd=root)
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("push", "-q", str(origin), "main", "change", cwd=root)
    clone = tmp_path / "clone"
    git("clone", "-q", "-b", "change", str(origin), str(clone), cwd=tmp_path)
    dvc("pull", cwd=clone)  # the head's outputs only: the base's stay in the remote
    assert not any((clone / ".dvc" / "cache").rglob("*.parquet"))
    return clone


def run(clone: Path, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    result = cli("run", "--no-repro", "--base", "origin/main", *args, cwd=clone)
    path = clone / ".mlops" / "report.json"
    report = json.loads(path.read_text()) if path.exists() and result.code != 2 else {}
    return result.code, report, result.stdout + result.stderr


def test_a_small_drop_on_few_rows_passes_within_noise(tmp_path: Path) -> None:
    # 300 rows: the head gets 3 rows wrong that the base got right and 2 the other way round
    clone = make_clone(tmp_path, 300, list(range(30)), [*range(2, 30), 100, 101, 102])
    code, report, output = run(clone)
    assert code == 0, output
    (gate,) = report["gates"]
    assert gate["verdict"] == "pass" and gate["significance"] == "within noise"
    assert gate["test"] == "mcnemar" and gate["p_value"] == pytest.approx(1.0)
    assert "accuracy fell by 0.0033" in gate["explanation"]
    assert "within noise: p = 1" in gate["explanation"]
    evaluation = report["evaluation"]
    assert evaluation["rows"] == 300 and evaluation["base_rows"] == 300
    assert evaluation["note"] is None
    assert evaluation["confusion"]["base"] is not None
    accuracy = next(m for m in report["metrics"] if m["name"] == "accuracy")
    low, high = accuracy["head_interval"]
    assert low < accuracy["head"] < high
    assert accuracy["base_interval"][0] < accuracy["base"] < accuracy["base_interval"][1]
    # `gate` judges the written report again, evidence and all, without the predictions
    again = cli("gate", cwd=clone)
    assert again.code == 0, again.stdout + again.stderr


def test_a_big_drop_on_many_rows_fails_as_significant(tmp_path: Path) -> None:
    clone = make_clone(tmp_path, 5000, list(range(250)), list(range(750)))
    code, report, output = run(clone)
    assert code == 1, output
    (gate,) = report["gates"]
    assert gate["verdict"] == "fail" and gate["significance"] == "significant"
    assert gate["p_value"] < 1e-6
    low, high = gate["difference"]
    assert low < -0.1 < high < 0
    assert "significant: p = " in gate["explanation"]


SLICES = """\
model: {name: m, path: eval/predictions.parquet}
evaluation:
  slices: [sex]
  replicates: 200
gates:
  - metric: recall
    min: 0.9
    slice: {sex: female}
  - metric: recall
    min: 0.9
    slice: {sex: male}
"""


def test_slice_gates_pass_and_fail_on_their_rows(tmp_path: Path) -> None:
    # every even row is female: the head's new mistakes are all on female rows
    wrong = list(range(0, 200, 2))
    clone = make_clone(tmp_path, 400, [], wrong, SLICES)
    code, report, output = run(clone)
    assert code == 1, output
    female, male = report["gates"]
    assert female["slice"] == {"sex": "female"} and female["verdict"] == "fail"
    assert female["head"] == pytest.approx(
        next(m["head"] for m in report["metrics"] if m["name"] == "recall_female")
    )
    assert male["verdict"] == "pass" and male["head"] == 1.0


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("  - metric: recall\n    min: 0.5\n    slice: {sex: femal}\n",
         "mlops.yaml, line 6: gates[0] slice {sex: 'femal'} matches no row of "
         "eval/predictions.parquet; the values of sex there: 'female', 'male'."),
        ("  - metric: recall\n    min: 0.5\n    slice: {region: north}\n",
         "mlops.yaml, line 6: gates[0] slices by 'region', which is not a slice column of "
         "eval/predictions.parquet (its slice columns: sex)."),
        ("  - metric: rmse\n    max: 1\n    slice: {sex: male}\n",
         "mlops.yaml, line 6: gates[0] judges 'rmse' on a slice, which a binary task's "
         "predictions do not give"),
    ],
)
def test_each_bad_slice_gate_exits_2_with_its_message(
    tmp_path: Path, gate: str, message: str
) -> None:
    clone = make_clone(tmp_path, 40, [], [1], SLICES.split("gates:\n")[0] + "gates:\n" + gate)
    code, _, output = run(clone)
    assert code == 2, output
    assert message in " ".join(output.split()), output
    assert "Traceback" not in output


def test_a_test_without_head_predictions_exits_2(tmp_path: Path) -> None:
    clone = make_clone(tmp_path, 40, [], [1])
    (clone / "eval" / "predictions.parquet").unlink()
    code, _, output = run(clone)
    assert code == 2, output
    assert "gates[0] (accuracy) needs the per-row predictions eval/predictions.parquet" in output


def test_a_base_without_predictions_judges_point_values_and_says_so(tmp_path: Path) -> None:
    clone = make_clone(tmp_path, 300, [], [5], base_has_predictions=False)
    code, report, output = run(clone)
    assert code == 1, output  # a drop, untested: the point values decide, never a silent pass
    (gate,) = report["gates"]
    assert gate["verdict"] == "fail" and gate["p_value"] is None
    assert "origin/main has no eval/predictions.parquet" in gate["evidence_note"]
    assert report["evaluation"]["base_rows"] is None
    assert report["evaluation"]["note"] == gate["evidence_note"]


def test_base_predictions_not_pushed_say_how_to_fix_it(tmp_path: Path) -> None:
    clone = make_clone(tmp_path, 300, [], [5])
    shutil.rmtree(tmp_path / "remote")
    (tmp_path / "remote").mkdir()
    dvc("push", cwd=clone)  # the head's objects only
    code, report, output = run(clone)
    assert code == 1, output
    note = report["gates"][0]["evidence_note"]
    assert "eval/predictions.parquet at origin/main" in note
    assert "nor in the remote 'storage'" in note and "dvc push" in note
