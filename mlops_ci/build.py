"""Assemble a Report from what was read: config, snapshots, revisions and dvc.lock. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

from mlops_ci import __version__
from mlops_ci.compare import compare_metrics, compare_params, flat_params
from mlops_ci.config import Config
from mlops_ci.errors import ConfigError
from mlops_ci.gates import metrics_found, overall_verdict
from mlops_ci.gates_evidence import facts_from_report, judge_gates
from mlops_ci.lineage import lineage_from_lock
from mlops_ci.lockfile import Lock
from mlops_ci.pipeline import Snapshot
from mlops_ci.registry import Registry
from mlops_ci.registry_report import registry_info
from mlops_ci.report import MetricDiff, ModelInfo, PlotDiff, Report, Revision


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
    registry: Registry | None = None,
    plots: Sequence[PlotDiff] = (),
    plots_omitted: int = 0,
) -> Report:
    metrics = compare_metrics(
        head.metrics,
        base.metrics if base else None,
        config.metrics,
        unreadable=base.unreadable if base else None,
        next_base=head.next_base,
    )
    check_primary(config, metrics)
    # the predictions' evidence comes later (evidence_report.attach_evidence); until then a
    # test judges point values and a slice gate is not judged (it fails)
    gates = judge_gates(
        config.gates, metrics, {}, digits=config.report.digits, config_file=config.path.name,
        base_missing=config.base.missing,
    )
    metric_files = {m.file for m in metrics}
    report = Report(
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
        registry=registry_info(
            registry, config.model.name, head=head_revision.rev, base=base_revision.rev
        ),
        plots=list(plots),
        plots_omitted=plots_omitted,
    )
    report.check_limits()  # before anything is rendered or written: `run` writes all or nothing
    return report


def check_primary(config: Config, metrics: Sequence[MetricDiff]) -> None:
    """`metrics.primary` names a metric the metrics files hold at head, like a gate must."""
    primary = config.metrics.primary
    if primary is None or any(m.primary and m.change != "removed" for m in metrics):
        return
    line = config.metrics.primary_line
    where = f"{config.path.name}, line {line}" if line else config.path.name
    known = metrics_found(metrics)
    removed = any(m.primary for m in metrics)
    why = " It existed at the base but the pipeline no longer writes it." if removed else ""
    raise ConfigError(
        f"{where}: metrics.primary names metric {primary!r}, which the metrics files do not "
        f"contain.{why} Metrics found: {known}. Name one of them, or remove the key."
    )


def regate(report: Report, config: Config) -> Report:
    """The report with its gates evaluated again under *config* (the metrics stay as they were).

    The evidence of the predictions is the report's own: a test or a slice the report was not
    computed with is not invented (the test judges point values, the slice gate fails).
    """
    gates = judge_gates(
        config.gates, report.metrics, facts_from_report(report, config.gates),
        digits=report.digits, config_file=config.path.name, base_missing=config.base.missing,
    )
    return replace(report, gates=gates, verdict=overall_verdict(gates))
