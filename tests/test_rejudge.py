"""An untrusted report judged again with trusted gates: pure, from a real mlops.yaml."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from factories import make_failing_report, make_metric, make_report
from mlops_ci.config import Config, load_config
from mlops_ci.rejudge import NO_TRUSTED_GATES, rejudge


def trusted(tmp_path: Path, gates: str, extra: str = "") -> Config:
    path = tmp_path / "mlops.yaml"
    path.write_text(
        f"model: {{name: m, path: model.pkl}}\nmetrics: {{primary: roc_auc}}\n{extra}"
        f"gates:\n{gates}",
        encoding="utf-8",
    )
    return load_config(path)


ACCURACY = "  - metric: accuracy\n    max_drop: 0.01\n"


def test_the_reports_own_verdict_and_gates_are_ignored(tmp_path: Path) -> None:
    failing = make_failing_report()
    forged = replace(failing, gates=[], verdict=replace(failing.verdict, status="pass"))
    judged = rejudge(forged, trusted(tmp_path, ACCURACY))
    assert judged.trusted and judged.unjudgeable == ()
    assert judged.report.verdict.status == "fail"
    (gate,) = judged.report.gates
    assert (gate.metric, gate.rule, gate.verdict) == ("accuracy", "max_drop", "fail")


def test_without_a_trusted_config_nothing_passes() -> None:
    judged = rejudge(make_report(), None)
    assert not judged.trusted and judged.report.gates == []
    assert judged.report.verdict.status == "fail"
    assert judged.report.verdict.summary == NO_TRUSTED_GATES


@pytest.mark.parametrize("severity", ["error", "warning"])
def test_a_gate_whose_metric_is_missing_fails_in_trusted_words(
    tmp_path: Path, severity: str
) -> None:
    hostile = make_metric("@octocat ![x](https://evil/x.png)", 0.5, 0.6)
    report = make_report(metrics=[hostile])
    gates = f"  - metric: accuracy\n    min: 0.5\n    max_drop: 0.01\n    severity: {severity}\n"
    judged = rejudge(report, trusted(tmp_path, gates))
    assert judged.unjudgeable == ("accuracy",)
    assert [(g.rule, g.verdict, g.severity) for g in judged.report.gates] == [
        ("min", "fail", "error"), ("max_drop", "fail", "error")
    ]
    assert judged.report.verdict.status == "fail"
    for text in [g.explanation for g in judged.report.gates] + [judged.report.verdict.summary]:
        assert "octocat" not in text and "evil" not in text


def test_a_metric_that_is_not_a_number_fails_its_gate(tmp_path: Path) -> None:
    report = make_report(metrics=[make_metric("accuracy", 0.9, "very good")])
    judged = rejudge(report, trusted(tmp_path, ACCURACY))
    assert judged.unjudgeable == ("accuracy",) and judged.report.verdict.status == "fail"
    assert "not a number" in judged.report.gates[0].explanation


def test_the_trusted_config_names_the_primary_metric_and_the_digits(tmp_path: Path) -> None:
    report = make_report(primary_metric="accuracy", digits=12)
    report.metrics[0].primary = True  # accuracy, as the report claims
    judged = rejudge(report, trusted(tmp_path, ACCURACY, extra="report: {digits: 3}\n")).report
    assert judged.primary_metric == "roc_auc" and judged.digits == 3
    assert [m.name for m in judged.metrics if m.primary] == ["roc_auc"]
    assert judged.config_file == "mlops.yaml"
