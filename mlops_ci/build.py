"""Assemble a Report from what was read: config, snapshots, revisions and dvc.lock. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from mlops_ci import __version__
from mlops_ci.compare import compare_metrics, compare_params, flat_params
from mlops_ci.config import Config
from mlops_ci.gates import evaluate_gates, overall_verdict
from mlops_ci.lockfile import Lock
from mlops_ci.pipeline import Snapshot, lineage_from_lock
from mlops_ci.report import ModelInfo, Report, Revision


def build_report(
    config: Config,
    *,
    head: Snapshot,
    base: Snapshot | None,
    head_revision: Revision,
    base_revision: Revision,
    lock: Lock | None,
    base_lock: Lock | None,
    base_lock_error: str | None = None,
    now: datetime | None = None,
) -> Report:
    metrics = compare_metrics(head.metrics, base.metrics if base else None, config.metrics)
    gates = evaluate_gates(
        config.gates, metrics, digits=config.report.digits, config_file=config.path.name
    )
    metric_files = {m.file for m in metrics}
    return Report(
        title=config.report.title,
        digits=config.report.digits,
        model=ModelInfo(
            name=config.model.name,
            path=config.model.path,
            task=config.model.task,
            library=config.model.library,
        ),
        primary_metric=config.metrics.primary,
        base=base_revision,
        head=head_revision,
        metrics=metrics,
        params=compare_params(head.params, base.params if base else None),
        params_head=flat_params(head.params),
        gates=gates,
        lineage=lineage_from_lock(
            lock,
            base_lock,
            model_path=config.model.path,
            metric_files=metric_files,
            base_lock_error=base_lock_error,
        ),
        verdict=overall_verdict(gates),
        card=config.card,
        created_at=(now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        tool_version=__version__,
        config_file=config.path.name,
    )


def regate(report: Report, config: Config) -> Report:
    """The report with its gates evaluated again under *config* (the metrics stay as they were)."""
    gates = evaluate_gates(
        config.gates, report.metrics, digits=report.digits, config_file=config.path.name
    )
    return replace(report, gates=gates, verdict=overall_verdict(gates))
