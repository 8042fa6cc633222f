"""Attach the evidence of the per-row predictions to a Report: intervals and tested gates.

``collect.collect_report`` calls :func:`attach_evidence` once, after the Report is built from
the metrics: it finds the head's and the base's predictions files (``predictions_at``), reads
them (``evaluation/evidence.py``), and judges the gates again with what they showed
(``gates_evidence``). A repository without a predictions file, and with no gate that needs one,
gets the Report back as it was (so does a file at the default path that is not a predictions
file, when mlops.yaml has no `evaluation` section).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.compare import is_number
from mlops_ci.config import Config
from mlops_ci.errors import ConfigError
from mlops_ci.gates import find_metric, overall_verdict
from mlops_ci.gates_evidence import GateFacts, judge_gates
from mlops_ci.report import MetricDiff, Report
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
    """The Report with *evidence* in it. Pure.

    The predictions must describe the values they judge: a metric whose value on all rows of
    the predictions differs from its metrics file's (a stale predictions file, another model's)
    gets no interval, and a tested gate on it is judged on point values alone, saying why.
    """
    stale = {
        metric.name: note for metric in report.metrics
        if metric.file == evidence.metrics_file and metric.change != "removed"
        and (note := mismatch(metric, evidence)) is not None
    }
    metrics = []
    for metric in report.metrics:
        found = evidence.intervals.get(metric.name)
        if found and metric.file == evidence.metrics_file and metric.change != "removed" \
                and metric.name not in stale:
            head, base = found
            metric = replace(
                metric, head_interval=head, base_interval=base if metric.base is not None
                else None,
            )
        metrics.append(metric)
    facts = dict(evidence.facts)
    for gate in config.gates:
        if gate.evidence.test and not gate.evidence.slice:
            try:
                metric = find_metric(gate, metrics, config_file=config.path.name)
            except ConfigError:
                continue  # judge_gates says so
            if metric.file == evidence.metrics_file and metric.name in stale:
                facts[gate.index] = GateFacts(note=stale[metric.name])
    gates = judge_gates(
        config.gates, metrics, facts, digits=report.digits,
        config_file=config.path.name, base_missing=config.base.missing,
    )
    judged = replace(
        report, metrics=metrics, gates=gates, verdict=overall_verdict(gates),
        evaluation=evidence.info,
    )
    judged.check_limits()
    return judged


def mismatch(metric: MetricDiff, evidence: Evidence) -> str | None:
    """Why the predictions do not describe *metric*'s values; None when they do.

    `mlops-ci evaluate` writes the metrics file from the same pass as the predictions, so the
    values agree to float rounding (relative 1e-9); beyond it, they come from different runs.
    """
    found = evidence.values.get(metric.name)
    if found is None:
        return None
    sides = (("head", metric.head, found[0]), ("base", metric.base, found[1]))
    for side, value, predicted in sides:
        if not (is_number(value) and is_number(predicted)) or predicted is None:
            continue
        if math.isclose(float(value), predicted, rel_tol=1e-9, abs_tol=1e-12):
            continue
        where = "the head's" if side == "head" else "the base's"
        return (
            f"{where} {evidence.info.predictions} gives {metric.name} {predicted:.6g} "
            f"but {metric.file} says {float(value):.6g}, so they are not from one run and the "
            "predictions were not used; re-run `mlops-ci evaluate` (or `dvc repro`) so the "
            "predictions and the metrics come from one run, and commit both."
        )
    return None
