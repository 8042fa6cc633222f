"""The DVC layer: reading snapshots through DVC's Python API, and lineage from dvc.lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import cli, git, tree_state
from mlops_ci.errors import InputError
from mlops_ci.lineage import lineage_from_lock
from mlops_ci.lockfile import parse_lock
from mlops_ci.pipeline import flatten, read_snapshots

LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
    - path: src/prepare.py
      md5: aaa
      size: 10
    - path: raw
      md5: bbb.dir
      size: 300
      nfiles: 3
    outs:
    - path: data/train.csv
      md5: ccc
      size: 100
  train:
    cmd: python src/train.py
    deps:
    - path: data/train.csv
      md5: ccc
      size: 100
    outs:
    - path: model.pkl
      md5: ddd
      size: 50
  evaluate:
    cmd: python src/evaluate.py
    outs:
    - path: metrics.json
      md5: eee
"""


def test_lineage_separates_data_code_and_model():
    lock = parse_lock(LOCK)
    base = parse_lock(LOCK.replace("md5: ddd", "md5: old"))
    lineage = lineage_from_lock(lock, base, model_path="model.pkl", metric_files={"metrics.json"})
    assert lineage.stages == ["prepare", "train", "evaluate"]
    assert [d.path for d in lineage.code] == ["src/prepare.py"]
    assert [(d.path, d.md5, d.nfiles) for d in lineage.data] == [
        ("raw", "bbb.dir", 3),
        ("data/train.csv", "ccc", None),
    ]
    assert (lineage.model.md5, lineage.model.stage) == ("ddd", "train")
    assert lineage.base_model.md5 == "old"


def test_no_lock_means_empty_lineage():
    lineage = lineage_from_lock(None, None, model_path="model.pkl", metric_files=set())
    assert lineage.model is None and lineage.stages == []


def test_broken_lock_is_an_input_error():
    with pytest.raises(InputError, match="is not valid YAML"):
        parse_lock("stages: [")


def test_flatten_nests_with_dots_and_keeps_lists():
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": [1, 2]}) == {
        "a.b": 1,
        "a.c.d": 2,
        "e": [1, 2],
    }


def test_snapshots_read_workspace_and_base_through_dvc(project: Path):
    base = git("rev-parse", "HEAD", cwd=project)
    metrics = json.loads((project / "metrics.json").read_text())
    metrics["accuracy"] = 0.5
    (project / "metrics.json").write_text(json.dumps(metrics))
    head, at_base = read_snapshots(project, base, ())
    assert head.metrics["metrics.json"]["accuracy"] == 0.5
    assert at_base is not None
    assert at_base.metrics["metrics.json"]["accuracy"] > 0.9
    assert head.params["params.yaml"]["train.C"] == 1.0


def test_a_metrics_file_missing_at_the_base_only_means_new_metrics(project: Path):
    first_commit = git("rev-list", "--max-parents=0", "HEAD", cwd=project)
    head, base = read_snapshots(project, first_commit, ())
    assert "metrics.json" in head.metrics
    assert base is not None and base.metrics == {}


def test_a_pipeline_without_metrics_is_a_clear_error(project: Path):
    dvc_yaml = project / "dvc.yaml"
    text = dvc_yaml.read_text()
    dvc_yaml.write_text(text[: text.index("    metrics:")])
    with pytest.raises(InputError, match="No metrics found"):
        read_snapshots(project, None, ())


# --- names that would mislead or crash: refused with the file ------------------------------------


def test_flatten_refuses_two_spellings_of_one_name():
    with pytest.raises(InputError) as caught:
        flatten({"test.f1": 0.9, "test": {"f1": 0.8}}, source="The metrics file m.json")
    assert str(caught.value) == (
        "The metrics file m.json spells the name 'test.f1' twice, as \"test.f1\" and as "
        "\"test\" → \"f1\", so one of its two values would be lost. Rename one of them."
    )
    with pytest.raises(InputError, match=r"as 1 and as \"1\""):
        flatten({1: "a", "1": "b"})  # YAML keys of two types, one name


def test_flatten_refuses_deep_nesting_and_alias_bombs():
    deep: dict = {}
    node = deep
    for _ in range(150):
        node["k"] = node = {}
    with pytest.raises(InputError, match="nested more than 100 levels deep"):
        flatten(deep)
    shared: list = ["x"] * 10
    for _ in range(8):
        shared = [shared] * 10  # what YAML aliases make: one list, used 10**8 times
    with pytest.raises(InputError, match="more than 100000 values"):
        flatten({"bomb": shared})


def write_metrics(project: Path, text: str) -> None:
    (project / "metrics.json").write_text(text, encoding="utf-8")


def assert_refused(project: Path, command: tuple[str, ...], *expected: str) -> str:
    before = tree_state(project)
    result = cli(*command, cwd=project)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    for text in expected:
        assert text in result.stderr
    assert tree_state(project) == before and not (project / ".mlops").exists()
    return result.stderr


def test_a_metric_spelled_two_ways_is_refused(project: Path):
    write_metrics(
        project, '{"roc_auc": 0.99, "accuracy": 0.98, "f1": 0.9, "log_loss": 0.1, '
        '"test.f1": 0.9, "test": {"f1": 0.8}}'
    )
    assert_refused(
        project, ("diff",),
        "The metrics file metrics.json in the workspace spells the name 'test.f1' twice",
        '"test.f1"', '"test" → "f1"',
    )


def test_a_param_spelled_two_ways_is_refused(project: Path):
    params = project / "params.yaml"
    params.write_text(params.read_text() + '"train.C": 2.0\n')
    assert_refused(
        project, ("run", "--no-repro"),
        "The params file params.yaml in the workspace spells the name 'train.C' twice",
    )


@pytest.mark.parametrize(
    ("metrics", "shown"),
    [
        ('{"roc_auc": 0.99, "\\ud800": 0.5}', "the name '\\ud800'"),
        ('{"roc_auc": 0.99, "a": {"b\\udfff": 0.5}}', "the name 'a.b\\udfff'"),
        ('{"roc_auc": 0.99, "label": "x\\ud800"}', "the value 'x\\ud800'"),
    ],
    ids=["name", "nested name", "value"],
)
def test_a_lone_surrogate_is_refused_before_anything_is_written(
    project: Path, metrics: str, shown: str
):
    write_metrics(project, metrics)
    # report.md and the card are UTF-8 files: writing such a name crashed after report.md
    message = assert_refused(project, ("run", "--no-repro"), shown)
    assert message.startswith("mlops-ci: error: The metrics file metrics.json in the workspace")
    assert "lone surrogate" in message
