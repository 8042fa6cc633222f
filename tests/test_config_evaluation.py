"""mlops.yaml's `evaluation` section and a gate's `test`, `alpha` and `slice`: read, and each
combination that cannot mean anything refused with the fix (exit code 2 through the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config import MODEL, config_error, load_text

from mlops_ci.config_evaluation import DEFAULT_PREDICTIONS, GateEvidence


def test_the_defaults_without_an_evaluation_section(tmp_path: Path) -> None:
    config = load_text(tmp_path, MODEL + "gates:\n  - metric: accuracy\n    min: 0.5\n")
    assert config.evaluation.predictions == DEFAULT_PREDICTIONS
    assert config.evaluation.declared is False
    assert (config.evaluation.confidence, config.evaluation.replicates) == (0.95, 1000)
    assert config.gates[0].evidence == GateEvidence()


def test_the_section_and_the_evidence_keys_are_read(tmp_path: Path) -> None:
    config = load_text(tmp_path, MODEL + (
        "evaluation:\n  predictions: out/p.parquet\n  slices: [sex, [sex, age]]\n"
        "  confidence: 0.9\n  replicates: 200\n  seed: 7\n"
        "gates:\n"
        "  - metric: accuracy\n    max_drop: 0\n    test: mcnemar\n    alpha: 0.01\n"
        "  - metric: recall\n    min: 0.8\n    slice: {sex: female, age: 40}\n"
        "  - metric: roc_auc\n    max_drop: 1%\n    test: delong\n"
    ))
    evaluation = config.evaluation
    assert evaluation.declared and evaluation.predictions == "out/p.parquet"
    assert evaluation.slices == (("sex",), ("sex", "age"))
    assert (evaluation.confidence, evaluation.replicates, evaluation.seed) == (0.9, 200, 7)
    assert config.gates[0].evidence == GateEvidence(test="mcnemar", alpha=0.01)
    assert config.gates[1].evidence.slice == (("sex", "female"), ("age", 40))
    assert config.gates[2].evidence.test == "delong"


@pytest.mark.parametrize(("gate", "expected"), [
    ("  - metric: f1\n    min: 0.5\n    test: paired_bootstrap\n",
     "mlops.yaml, line 5: gates[0] has test 'paired_bootstrap' but no max_drop or max_increase, "
     "and a test judges a change from the base; add one of them (max_drop: 0 fails any "
     "significant drop), or remove the test."),
    ("  - metric: f1\n    max_drop: 0\n    test: mcnemar\n",
     "mlops.yaml, line 5: gates[0] has test mcnemar on 'f1', but McNemar's test compares "
     "accuracy only; use test: paired_bootstrap for other metrics."),
    ("  - metric: accuracy\n    max_drop: 0\n    test: delong\n",
     "mlops.yaml, line 5: gates[0] has test delong on 'accuracy', but DeLong's test compares "
     "ROC AUC only; use test: paired_bootstrap for counting metrics."),
    ("  - metric: roc_auc\n    max_drop: 0\n    test: paired_bootstrap\n",
     "mlops.yaml, line 5: gates[0] has test paired_bootstrap on 'roc_auc', a rank metric that "
     "the streaming bootstrap cannot resample; use test: delong."),
    ("  - metric: accuracy\n    max_drop: 0\n    alpha: 0.1\n",
     "mlops.yaml, line 5: gates[0] has alpha but no test; add test: paired_bootstrap or test: "
     "mcnemar, or remove alpha."),
])
def test_evidence_keys_that_cannot_mean_anything(tmp_path: Path, gate: str, expected: str) -> None:
    assert config_error(tmp_path, MODEL + "gates:\n" + gate) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("evaluation:\n  predictions: ../outside.parquet\n", "must be a path relative to"),
    ("evaluation:\n  replicates: 10\n", "replicates"),
    ("evaluation:\n  confidence: 1.5\n", "confidence"),
    ("gates:\n  - metric: a\n    max_drop: 0\n    test: ttest\n", "test"),
    ("gates:\n  - metric: a\n    min: 0\n    slice: {}\n", "slice"),
])
def test_bad_values_are_refused_by_name(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in config_error(tmp_path, MODEL + text)
