"""Lineage by the DAG of dvc.lock: training data, evaluation data, evaluation outputs (§6).

The pure part on lock texts (foreach names, directories, cycles, no model stage), then a real
git and dvc project, prepare → train → evaluate, whose model card must not call the
evaluation's metrics, plots and predictions "training data".
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from conftest import cli, git, new_dvc_repo
from mlops_ci.lineage import lineage_from_lock
from mlops_ci.lockfile import parse_lock

LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
    - {path: data/raw.csv, md5: aaa, size: 10}
    - {path: src/prepare.py, md5: p1}
    outs:
    - {path: data/prepared, md5: bbb.dir, size: 8, nfiles: 2}
  train:
    cmd: python src/train.py
    deps:
    - {path: data/prepared/train.csv, md5: ccc, size: 5}
    - {path: src/train.py, md5: t1}
    outs:
    - {path: model.pkl, md5: mmm, size: 50}
  evaluate:
    cmd: python src/evaluate.py
    deps:
    - {path: model.pkl, md5: mmm, size: 50}
    - {path: data/prepared/test.csv, md5: ddd, size: 3}
    - {path: src/evaluate.py, md5: e1}
    outs:
    - {path: metrics.json, md5: m1}
    - {path: plots/roc.csv, md5: r1}
    - {path: predictions.csv, md5: pr1}
  report:
    cmd: python src/report.py
    deps:
    - {path: predictions.csv, md5: pr1}
    - {path: data/labels.csv, md5: lab}
    outs:
    - {path: report.html, md5: h1}
"""


def paths(items: list) -> list[str]:  # type: ignore[type-arg]
    return [item.path for item in items]


def test_the_dag_splits_training_from_evaluation() -> None:
    lineage = lineage_from_lock(
        parse_lock(LOCK), None, model_path="model.pkl", metric_files={"metrics.json"}
    )
    assert lineage.model_stage == "train"
    assert lineage.model is not None and lineage.model.stage == "train"
    # prepare's output directory also holds the test split: only what train reads is training
    assert paths(lineage.data) == ["data/raw.csv", "data/prepared/train.csv"]
    # test.csv is prepare's output, but only the evaluation reads it
    assert paths(lineage.evaluation_data) == ["data/prepared/test.csv", "data/labels.csv"]
    assert paths(lineage.evaluation_outputs) == [
        "metrics.json", "plots/roc.csv", "predictions.csv", "report.html"
    ]
    assert [d.stage for d in lineage.evaluation_outputs][-1] == "report"
    assert paths(lineage.code) == ["src/prepare.py", "src/train.py", "src/evaluate.py"]


def test_a_test_split_written_beside_the_training_split_is_not_training_data() -> None:
    # the bundled example's shape: prepare writes both splits as separate outputs
    lock = parse_lock("""\
stages:
  prepare:
    deps: [{path: raw.csv, md5: r}]
    outs: [{path: data/train.csv, md5: a}, {path: data/test.csv, md5: b}]
  train:
    deps: [{path: data/train.csv, md5: a}]
    outs: [{path: model.pkl, md5: m}]
  evaluate:
    deps: [{path: model.pkl, md5: m}, {path: data/test.csv, md5: b}]
    outs: [{path: metrics.json, md5: x}]
""")
    lineage = lineage_from_lock(lock, None, model_path="model.pkl", metric_files={"metrics.json"})
    assert paths(lineage.data) == ["raw.csv", "data/train.csv"]
    assert paths(lineage.evaluation_data) == ["data/test.csv"]


def test_foreach_and_matrix_stage_names_are_stages_like_any_other() -> None:
    lock = parse_lock("""\
stages:
  train@small:
    deps: [{path: data.csv, md5: a}]
    outs: [{path: models/small.pkl, md5: s}]
  train@large:
    deps: [{path: data.csv, md5: a}]
    outs: [{path: models/large.pkl, md5: l}]
  evaluate@test:
    deps: [{path: models/small.pkl, md5: s}, {path: test.csv, md5: t}]
    outs: [{path: eval/test.json, md5: e}]
  evaluate@valid:
    deps: [{path: models/large.pkl, md5: l}, {path: valid.csv, md5: v}]
    outs: [{path: eval/valid.json, md5: f}]
""")
    lineage = lineage_from_lock(lock, None, model_path="models/small.pkl", metric_files=set())
    assert lineage.model_stage == "train@small"
    assert paths(lineage.data) == ["data.csv"]
    assert paths(lineage.evaluation_data) == ["test.csv"]
    assert paths(lineage.evaluation_outputs) == ["eval/test.json"]


def test_a_model_inside_an_output_directory_and_a_reader_of_the_directory() -> None:
    lock = parse_lock("""\
stages:
  train:
    deps: [{path: ./data/train.csv, md5: a}]
    outs: [{path: models/, md5: m.dir, nfiles: 2}]
  evaluate:
    deps: [{path: models, md5: m.dir}, {path: data/test.csv, md5: t}]
    outs: [{path: scores.json, md5: s}]
""")
    lineage = lineage_from_lock(lock, None, model_path="models/model.pkl", metric_files=set())
    assert lineage.model_stage == "train"
    assert paths(lineage.data) == ["./data/train.csv"]
    assert paths(lineage.evaluation_data) == ["data/test.csv"]
    assert paths(lineage.evaluation_outputs) == ["scores.json"]


def test_a_model_no_stage_writes_has_no_training_data_but_its_evaluation() -> None:
    lock = parse_lock("""\
stages:
  evaluate:
    deps: [{path: model.pkl, md5: m}, {path: test.csv, md5: t}]
    outs: [{path: metrics.json, md5: s}]
""")
    lineage = lineage_from_lock(lock, None, model_path="model.pkl", metric_files={"metrics.json"})
    assert lineage.model_stage is None
    assert lineage.data == []
    assert lineage.model is not None and lineage.model.md5 == "m"
    assert paths(lineage.evaluation_data) == ["test.csv"]
    assert paths(lineage.evaluation_outputs) == ["metrics.json"]


def test_no_lock_and_a_lock_without_the_model() -> None:
    empty = lineage_from_lock(None, None, model_path="model.pkl", metric_files=set())
    assert (empty.stages, empty.model_stage, empty.evaluation_data) == ([], None, [])
    other = lineage_from_lock(
        parse_lock("stages:\n  s:\n    deps: [{path: a.csv}]\n    outs: [{path: b.csv}]\n"),
        None, model_path="model.pkl", metric_files=set(),
    )
    assert (other.stages, other.data, other.evaluation_outputs) == (["s"], [], [])


def test_a_cyclic_lock_ends_and_keeps_upstream_as_training() -> None:
    # DVC never writes a cycle; a hand-made lock can. a → b → a, and the model stage reads a.
    lock = parse_lock("""\
stages:
  a:
    deps: [{path: y, md5: "1"}]
    outs: [{path: x, md5: "2"}]
  b:
    deps: [{path: x, md5: "2"}, {path: model.pkl, md5: "3"}]
    outs: [{path: y, md5: "1"}]
  train:
    deps: [{path: x, md5: "2"}, {path: train, md5: "4"}]
    outs: [{path: model.pkl, md5: "3"}, {path: train, md5: "4"}]
""")
    lineage = lineage_from_lock(lock, None, model_path="model.pkl", metric_files=set())
    assert lineage.model_stage == "train"
    assert set(paths(lineage.data)) == {"x", "y", "train"}  # its own output read back, too
    assert lineage.evaluation_data == [] and lineage.evaluation_outputs == []


def test_a_large_chain_is_classified_in_linear_time() -> None:
    n = 3000
    stages = [f"  s{i}:\n    deps: [{{path: d/{i}}}]\n    outs: [{{path: d/{i + 1}}}]\n"
              for i in range(n)]
    lock = parse_lock("stages:\n" + "".join(stages))
    start = time.monotonic()
    lineage = lineage_from_lock(lock, None, model_path=f"d/{n // 2}", metric_files=set())
    assert time.monotonic() - start < 5
    assert len(lineage.data) == n // 2 and len(lineage.evaluation_outputs) == n - n // 2


# --- a real project: prepare → train → evaluate ---

PY = sys.executable
DVC_YAML = f"""\
stages:
  prepare:
    cmd: {PY} prepare.py
    deps: [raw.csv, prepare.py]
    outs: [data]
  train:
    cmd: {PY} train.py
    deps: [data/train.csv, train.py]
    params: [train.alpha]
    outs: [model.txt]
  evaluate:
    cmd: {PY} evaluate.py
    deps: [model.txt, data/test.csv, evaluate.py]
    outs: [predictions.csv]
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/roc.json:
          cache: false
"""
PREPARE = (
    "import os\nos.makedirs('data', exist_ok=True)\nrows = open('raw.csv').read().split()\n"
    "open('data/train.csv', 'w').write('\\n'.join(rows[:3]))\n"
    "open('data/test.csv', 'w').write('\\n'.join(rows[3:]))\n"
)
TRAIN = "open('model.txt', 'w').write(str(sum(map(int, open('data/train.csv').read().split()))))"
EVALUATE = (
    "import json, os\nm = int(open('model.txt').read())\n"
    "test = [int(x) for x in open('data/test.csv').read().split()]\n"
    "open('predictions.csv', 'w').write('\\n'.join(str(m * x) for x in test))\n"
    "json.dump({'acc': 0.9}, open('metrics.json', 'w'))\n"
    "os.makedirs('plots', exist_ok=True)\n"
    "json.dump([{'fpr': 0, 'tpr': 0}, {'fpr': 1, 'tpr': 1}], open('plots/roc.json', 'w'))\n"
)


def test_a_real_pipelines_card_tells_training_from_evaluation(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    files = {
        "dvc.yaml": DVC_YAML, "params.yaml": "train:\n  alpha: 1\n",
        "mlops.yaml": "model: {name: m, path: model.txt}\n", "raw.csv": "1\n2\n3\n4\n5\n",
        "prepare.py": PREPARE, "train.py": TRAIN, "evaluate.py": EVALUATE,
        ".gitignore": ".mlops/\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "pipeline", cwd=root)
    result = cli("run", cwd=root)
    assert result.code == 0, result.stdout + result.stderr

    lineage = json.loads((root / ".mlops" / "report.json").read_text())["lineage"]
    assert lineage["model_stage"] == "train"
    assert [d["path"] for d in lineage["data"]] == ["raw.csv", "data/train.csv"]
    assert [d["path"] for d in lineage["evaluation_data"]] == ["data/test.csv"]
    assert {d["path"] for d in lineage["evaluation_outputs"]} == {
        "predictions.csv", "metrics.json", "plots/roc.json"
    }

    card = (root / ".mlops" / "model-card.md").read_text()
    evaluation = card[card.index("## Evaluation data"):card.index("## Training data")]
    training = card[card.index("## Training data"):card.index("## Quantitative analyses")]
    assert "| `data/test.csv` | evaluate |" in evaluation
    for output in ("predictions.csv", "metrics.json", "plots/roc.json"):
        assert f"| `{output}` | evaluate |" in evaluation
        assert output not in training
    assert "stage `train`, which writes the model" in training
    for data in ("raw.csv", "data/train.csv"):
        assert f"| `{data}` |" in training
    assert "test.csv" not in training


def test_report_md_names_each_kind() -> None:
    from factories import make_report
    from mlops_ci.render import render_report_md

    report = make_report()
    report.lineage = lineage_from_lock(
        parse_lock(LOCK), None, model_path="model.pkl", metric_files={"metrics.json"}
    )
    text = render_report_md(report)
    assert "| training data | `data/prepared/train.csv` | train |" in text
    assert "| evaluation data | `data/prepared/test.csv` | evaluate |" in text
    assert "| evaluation output | `predictions.csv` | evaluate |" in text
    assert "| code | `src/train.py` | train |" in text


def test_a_report_written_before_the_lineage_kinds_still_loads() -> None:
    from factories import make_report
    from mlops_ci.report import Report
    from mlops_ci.schemas import validate_report

    data = make_report().to_dict()
    for key in ("evaluation_data", "evaluation_outputs", "model_stage"):
        del data["lineage"][key]
    validate_report(data, source="old.json")
    lineage = Report.from_dict(data).lineage
    assert (lineage.evaluation_data, lineage.evaluation_outputs, lineage.model_stage) == (
        [], [], None
    )
