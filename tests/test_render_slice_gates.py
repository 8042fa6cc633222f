"""A slice gate's verdict is not shown on the whole test set's metric row (terminal, card)."""

from __future__ import annotations

from dataclasses import replace

from factories import make_metric, make_report
from mlops_ci.card import render_card_body
from mlops_ci.render import MISSING, STATUS_MARKS, gate_status
from mlops_ci.render_terminal import render_table
from mlops_ci.report import GateResult, Report

SLICED = GateResult(
    metric="recall", rule="min", threshold=0.6, threshold_text="0.6", relative=False,
    severity="error", verdict="fail", base=0.67, head=0.4667, limit=0.6,
    explanation="recall is 0.4667; it must be at least 0.6 and is not.", gate_index=0,
    line=3, slice={"size": "small"},
)


def _report(*gates: GateResult) -> Report:
    recall = make_metric("recall", 0.9057, 0.8491)  # overall recall
    return make_report(metrics=[recall], gates=list(gates))


def _terminal_row(report: Report) -> str:
    (row,) = [line for line in render_table(report, color=False).splitlines()
              if line.startswith("recall ")]
    return row.rstrip()


def _card_row(report: Report) -> str:
    (row,) = [line for line in render_card_body(report).splitlines()
              if line.startswith("| recall |")]
    return row


def test_a_failed_slice_gate_does_not_mark_the_overall_metric_failed() -> None:
    report = _report(SLICED)
    assert gate_status(report, report.metrics[0]) is None
    assert gate_status(report, "recall") is None
    # the terminal's gate column read "FAIL" for recall 0.8491, which no gate judged
    assert not _terminal_row(report).endswith("FAIL"), _terminal_row(report)
    assert _card_row(report).rstrip().endswith(f"| {MISSING} |"), _card_row(report)


def test_a_gate_on_all_rows_still_marks_its_row() -> None:  # the control
    overall = replace(SLICED, slice=None, gate_index=1, line=6)
    report = _report(SLICED, overall)
    assert gate_status(report, report.metrics[0]) == "fail"
    assert _terminal_row(report).endswith("FAIL"), _terminal_row(report)
    assert _card_row(report).rstrip().endswith(f"| {STATUS_MARKS['fail']} |"), _card_row(report)
