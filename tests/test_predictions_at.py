"""predictions_at.py: the head's predictions checked in the workspace, the base's read at a
revision through DVC's file system (real git and dvc; the remote case is test_gates_noise.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import git, new_dvc_repo
from mlops_ci.config import load_config
from mlops_ci.errors import InputError
from mlops_ci.evaluation.predictions import PredictionsMeta, read_meta
from mlops_ci.evaluation.predictions_writer import write_predictions
from mlops_ci.predictions_at import base_predictions, head_predictions

RELATIVE = "eval/predictions.parquet"


def committed(root: Path) -> str:
    new_dvc_repo(root)
    write_predictions(root / RELATIVE, PredictionsMeta(task="binary", target="y"), {
        "row": np.arange(50), "y_true": np.arange(50) % 2, "y_pred": np.zeros(50, dtype=int),
    })
    git("add", "-A", cwd=root)
    git("commit", "-qm", "predictions in git", cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def test_the_base_file_is_copied_bounded_and_removed_after(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    sha = committed(root)
    with base_predictions(root, sha, RELATIVE, base_name="main") as side:
        assert side.path is not None and side.note is None
        assert read_meta(side.path).rows == 50
        copy = side.path
    assert not copy.exists()
    with base_predictions(root, sha, RELATIVE, base_name="main", limit=100) as side:
        assert side.path is None
        assert side.note == (
            f"{RELATIVE} at main is larger than 100 bytes, more than mlops-ci reads for a base; "
            "its predictions were not compared."
        )


def test_a_base_that_never_made_predictions_says_so(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    sha = committed(root)
    with base_predictions(root, sha, "eval/other.parquet", base_name="main") as side:
        assert side.path is None and not side.declared
        assert side.note is not None and side.note.startswith("main has no eval/other.parquet")
    with base_predictions(root, None, RELATIVE, base_name=None) as side:
        assert side.path is None and "no base revision" in (side.note or "")


def test_the_heads_file_must_stay_inside_and_be_regular(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    committed(root)
    (root / "mlops.yaml").write_text("model: {name: m, path: model.pkl}\n")
    config = load_config(root / "mlops.yaml", pipeline=False)
    assert head_predictions(root, config) == (root / RELATIVE).resolve()
    outside = tmp_path / "secret.parquet"
    outside.write_bytes(b"x")
    (root / RELATIVE).unlink()
    (root / RELATIVE).symlink_to(outside)
    with pytest.raises(InputError, match="evaluation.predictions"):
        head_predictions(root, config)
    (root / RELATIVE).unlink()
    os.mkfifo(root / RELATIVE)
    with pytest.raises(InputError, match="it must be a regular file"):
        head_predictions(root, config)
    (root / RELATIVE).unlink()
    assert head_predictions(root, config) is None
