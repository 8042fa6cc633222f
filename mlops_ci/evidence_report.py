"""Attach the evidence of the per-row predictions to a Report: intervals and tested gates.

``collect.collect_report`` calls :func:`attach_evidence` once, after the Report is built from
the metrics: it finds the head's and the base's predictions files (``predictions_at``), reads
them (``evaluation/evidence.py``), and judges the gates again with what they showed
(``gates_evidence``). A repository without a predictions file, and with no gate that needs one,
gets the Report back as it was (so does a file at the default path that is not a predictions
file, when mlops.yaml has no `evaluation` section).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.config import Config
from mlops_ci.gates import overall_verdict
from mlops_ci.gates_evidence import judge_gates
from mlops_ci.report import Report
from mlops_ci.revisions import BaseChoice

if TYPE_CHECKING:
    from mlops_ci.evaluation.evidence import Evidence


def attach_evidence(root: Path, config: Config, base: BaseChoice, report: Report) -> Report:
    """*report* with the predictions' intervals, EvaluationInfo and evidence-judged gates."""
    from mlops_ci.predictions_at import base_predictions, head_predictions, require_head

    needing = [
        f"gates[{g.index}] ({g.metric})" for g in config.gates
        if g.evidence.test or g.evidence.slice
    ]
    head = head_predictions(root, config)
    if head is None:
        if needing:
            raise require_head(config.evaluation.predictions, needing)
        return report
    from mlops_ci.errors import InputError
    from mlops_ci.evaluation.evidence import compute_evidence
    from mlops_ci.evaluation.predictions import read_meta

    if not (needing or config.evaluation.declared):
        try:  # a file of the project's own at the default path is none of our business
            read_meta(head)
        except InputError:
            return report
    with base_predictions(
        root, base.rev, config.evaluation.predictions, base_name=base.ref or None
    ) as base_side:
        evidence = compute_evidence(config, head, base_side, report.metrics)
    return with_evidence(report, config, evidence)


def with_evidence(report: Report, config: Config, evidence: Evidence) -> Report:
    """The Report with *evidence* in it. Pure."""
    metrics = []
    for metric in report.metrics:
        found = evidence.intervals.get(metric.name)
        if found and metric.file == evidence.metrics_file and metric.change != "removed":
            head, base = found
            metric = replace(
                metric, head_interval=head, base_interval=base if metric.base is not None
                else None,
            )
        metrics.append(metric)
    gates = judge_gates(
        config.gates, metrics, evidence.facts, digits=report.digits,
        config_file=config.path.name, base_missing=config.base.missing,
    )
    judged = replace(
        report, metrics=metrics, gates=gates, verdict=overall_verdict(gates),
        evaluation=evidence.info,
    )
    judged.check_limits()
    return judged
