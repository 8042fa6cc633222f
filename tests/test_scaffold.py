"""`mlops-ci init`: the example project it writes (real git and dvc, no `dvc repro` here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import cli, git
from mlops_ci.config import load_config
from mlops_ci.errors import InputError
from mlops_ci.scaffold import example_files, init_project


def test_init_makes_a_committed_git_and_dvc_project_on_main(tmp_path: Path):
    root = tmp_path / "demo"
    result = cli("init", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert git("branch", "--show-current", cwd=root) == "main"
    assert git("status", "--porcelain", cwd=root) == ""
    assert git("rev-list", "--count", "HEAD", cwd=root) == "1"
    tracked = set(git("ls-files", cwd=root).splitlines())
    assert {
        "dvc.yaml",
        "params.yaml",
        "mlops.yaml",
        ".gitignore",
        ".dvc/config",
        "src/prepare.py",
        "src/train.py",
        "src/evaluate.py",
    } <= tracked
    assert "cd " in result.stdout and "mlops-ci run" in result.stdout


def test_the_pipeline_has_the_three_stages_and_git_tracked_metrics(tmp_path: Path):
    init_project(tmp_path / "p")
    dvc_yaml = yaml.safe_load((tmp_path / "p" / "dvc.yaml").read_text())
    stages = dvc_yaml["stages"]
    assert list(stages) == ["prepare", "train", "evaluate"]
    assert stages["train"]["outs"] == ["model.pkl"]  # the model is a DVC out
    assert stages["evaluate"]["metrics"] == [{"metrics.json": {"cache": False}}]


def test_the_scaffolded_mlops_yaml_is_valid_and_names_the_model(tmp_path: Path):
    init_project(tmp_path / "p")
    config = load_config(tmp_path / "p" / "mlops.yaml")
    assert config.model.path == "model.pkl"
    assert [g.metric for g in config.gates] == ["roc_auc", "accuracy", "f1", "log_loss"]


def test_init_refuses_to_overwrite_and_changes_nothing(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("mine: 1\n")
    with pytest.raises(InputError, match="params.yaml.*--force"):
        init_project(tmp_path)
    assert (tmp_path / "params.yaml").read_text() == "mine: 1\n"
    assert not (tmp_path / "dvc.yaml").exists()
    result = cli("init", str(tmp_path), cwd=tmp_path)
    assert result.code == 2 and "--force" in result.stderr and "Traceback" not in result.stderr


def test_force_overwrites(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("mine: 1\n")
    init_project(tmp_path, force=True)
    assert "train:" in (tmp_path / "params.yaml").read_text()


def test_init_into_a_file_path_is_a_clear_error(tmp_path: Path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        init_project(target)


def test_packaged_example_ships_the_dotfiles_under_their_real_names():
    assert ".gitignore" in example_files()
    assert "gitignore" not in example_files()
