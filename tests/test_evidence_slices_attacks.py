"""Attack: a slice gate on a real predictions file (the evaluate stage's own writer, no DVC)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlops_ci.compare import compare_metrics
from mlops_ci.config import MetricsConfig, load_config
from mlops_ci.errors import ConfigError
from mlops_ci.evaluation.evidence import BaseSide, compute_evidence
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.evaluation.predictions_writer import write_predictions


def _config(tmp_path: Path, gate: str):  # type: ignore[no-untyped-def]
    (tmp_path / "mlops.yaml").write_text(
        "model: {name: m, path: model.pkl}\nevaluation:\n  slices: [grade]\n"
        f"  replicates: 200\ngates:\n{gate}"
    )
    return load_config(tmp_path / "mlops.yaml", pipeline=False)


def _write(path: Path, grade: np.ndarray, y: np.ndarray, score: np.ndarray) -> Path:
    meta = PredictionsMeta(task="binary", target="label", labels=(0, 1), pos_label=1,
                           slices=("grade",), metrics_file="eval/metrics.json")
    write_predictions(path, meta, {
        "row": np.arange(len(y)), "y_true": y, "y_pred": (score >= 0.5).astype(int),
        "y_score": score, "slice:grade": grade,
    })
    return path


METRICS = compare_metrics({"eval/metrics.json": {"accuracy": 0.9}},
                          {"eval/metrics.json": {"accuracy": 0.9}}, MetricsConfig())


def test_roc_auc_on_a_one_class_slice_is_not_called_a_file_without_scores(
    tmp_path: Path,
) -> None:
    grade = np.array(["a", "b"] * 3, dtype=object)
    y = np.array([0, 1, 0, 1, 0, 1])  # slice a: negatives only
    head = _write(tmp_path / "h.parquet", grade, y, np.array([.1, .9, .2, .8, .3, .7]))
    config = _config(tmp_path, "  - metric: roc_auc\n    min: 0.5\n    slice: {grade: a}\n")
    with pytest.raises(ConfigError) as caught:
        compute_evidence(config, head, BaseSide(None, "first run"), METRICS)
    # the file has scores (y_score): the reason is a slice with one class
    assert "no scores to compute it from" not in str(caught.value), str(caught.value)
    assert "one class" in str(caught.value), str(caught.value)
