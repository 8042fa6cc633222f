"""A gate written `file:name` shows its verdict in every table, and failures count by gate (§7).

One gate with two failing rules is "1 gate failed (2 rules)" in the verdict's sentence, the
terminal's last line, report.md (which is also the job summary) and the card.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from factories import make_metric, make_report
from mlops_ci.card import render_card
from mlops_ci.config import GateConfig, GateRule
from mlops_ci.gates import overall_verdict
from mlops_ci.gates_evidence import judge_gates
from mlops_ci.render import render_report_md, render_summary_line
from mlops_ci.render_terminal import render_table
from mlops_ci.report import GateResult


def evaluate_gates(gates: Any, metrics: Any, **options: Any) -> list[GateResult]:
    """The gates judged as `run` judges them without predictions files: no evidence."""
    return judge_gates(gates, metrics, {}, **options)


def two_files_report():  # type: ignore[no-untyped-def]
    metrics = [
        make_metric("acc", 0.9, 0.5, file="eval/a.json"),
        make_metric("acc", 0.9, 0.95, file="eval/b.json"),
        make_metric("f1", 0.8, 0.7, file="eval/b.json"),
    ]
    gates = [
        GateConfig(
            metric="eval/a.json:acc",
            rules=(GateRule("min", 0.8, "0.8", False), GateRule("max_drop", 0.01, "0.01", False)),
            severity="error", index=0, line=3,
        ),
        GateConfig(
            metric="f1", rules=(GateRule("min", 0.75, "0.75", False),),
            severity="warning", index=1, line=7,
        ),
    ]
    results = evaluate_gates(gates, metrics, digits=4)
    return replace(
        make_report(metrics=metrics, primary_metric=None),
        gates=results, verdict=overall_verdict(results),
    )


def test_one_gate_with_two_failing_rules_is_counted_once_everywhere() -> None:
    report = two_files_report()
    assert (report.verdict.failed, report.verdict.warnings) == (2, 1)  # rules, as documented
    assert report.verdict.summary.startswith(
        "1 gate failed (2 rules): eval/a.json:acc min 0.8, eval/a.json:acc max_drop 0.01."
    )
    line = render_summary_line(report)
    assert line.startswith("Failed — 1 gate failed (2 rules): ")
    terminal = render_table(report, color=False)
    assert terminal.splitlines()[-1] == line
    markdown = render_report_md(report)
    assert "❌ **Failed** — 1 gate failed (2 rules), 1 warning." in markdown


def test_warnings_count_by_gate_too() -> None:
    metrics = [make_metric("f1", 0.8, 0.7)]
    gates = [GateConfig(
        metric="f1",
        rules=(GateRule("min", 0.75, "0.75", False), GateRule("max", 0.1, "0.1", False)),
        severity="warning", index=0, line=3,
    )]
    results = evaluate_gates(gates, metrics, digits=4)
    report = replace(make_report(metrics=metrics, primary_metric=None), gates=results,
                     verdict=overall_verdict(results))
    assert report.verdict.summary.startswith("No blocking gate failed; 1 warning (2 rules): ")
    assert "⚠️ **Passed with 1 warning (2 rules).**" in render_report_md(report)


def test_a_file_name_gate_shows_its_verdict_in_the_terminal_and_the_card() -> None:
    report = two_files_report()
    rows = {
        line.split()[0]: line.split()[-1]
        for line in render_table(report, color=False).splitlines()
        if line.startswith(("eval/", "f1"))
    }
    assert rows == {"eval/a.json:acc": "FAIL", "eval/b.json:acc": "—", "f1": "warn"}
    card = render_card(report)
    analyses = card[card.index("## Quantitative analyses"):]
    acc_rows = [row for row in analyses.splitlines() if row.startswith("| acc |")]
    assert acc_rows[0].endswith("| ❌ fail |") and acc_rows[1].endswith("| — |")
