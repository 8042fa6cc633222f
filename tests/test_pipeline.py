"""The DVC layer: reading snapshots through DVC's Python API, and lineage from dvc.lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git
from mlops_ci.errors import InputError
from mlops_ci.lockfile import parse_lock
from mlops_ci.pipeline import flatten, lineage_from_lock, read_snapshots

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
