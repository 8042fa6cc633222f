"""Which gates the predictions file can judge: refused before the pass, naming the gate's line.

A slice gate needs slice columns the file has and a metric its task gives; a tested gate a
counting metric (a paired bootstrap exists for it), or ROC AUC for DeLong's test, of the file
the predictions were scored for.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlops_ci.config import Config, GateConfig
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.evaluation.bootstrap import metric_names
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.gates import find_metric
from mlops_ci.report import MetricDiff

SCORE_METRICS = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier"),
    "multiclass": ("log_loss",),
    "regression": (),
}


def where(config: Config, gate: GateConfig) -> str:
    name = config.path.name
    return f"{name}, line {gate.line}" if gate.line else name


def known_metrics(meta: PredictionsMeta) -> tuple[str, ...]:
    return (*metric_names(meta.task), *SCORE_METRICS[meta.task])


def check_gates(
    config: Config, meta: PredictionsMeta, metrics: Sequence[MetricDiff], relative: str
) -> None:
    for gate in config.gates:
        at = f"{where(config, gate)}: gates[{gate.index}]"
        test = gate.evidence.test
        countable = metric_names(meta.task)
        if gate.evidence.slice:
            for column, _ in gate.evidence.slice:
                if column not in meta.slices:
                    found = ", ".join(meta.slices) or "none"
                    raise ConfigError(
                        f"{at} slices by {column!r}, which is not a slice column of "
                        f"{relative} (its slice columns: {found}). Add it to evaluation.slices "
                        "and run `mlops-ci evaluate` again, or slice by one of those."
                    )
            name = gate.metric.removeprefix(f"{meta.metrics_file}:") if meta.metrics_file \
                else gate.metric
            if name not in known_metrics(meta):
                raise ConfigError(
                    f"{at} judges {gate.metric!r} on a slice, which a {meta.task} task's "
                    f"predictions do not give; choose among {', '.join(known_metrics(meta))}."
                )
            if test == "delong" and meta.task != "binary":
                raise ConfigError(
                    f"{at} tests ROC AUC with DeLong's test, which needs a binary task's "
                    f"scores; {relative} holds a {meta.task} task's predictions."
                )
            if test in ("paired_bootstrap", "mcnemar") and name not in countable:
                raise ConfigError(
                    f"{at} tests {gate.metric!r}, which has no paired bootstrap (it is not "
                    f"a counting metric); choose among {', '.join(countable)}, or remove test."
                )
        elif test:
            if test == "delong" and meta.task != "binary":
                raise ConfigError(
                    f"{at} tests ROC AUC with DeLong's test, which needs a binary task's "
                    f"scores; {relative} holds a {meta.task} task's predictions."
                )
            metric = find_metric(gate, metrics, config_file=config.path.name)
            if test != "delong" and metric.name not in countable:
                raise ConfigError(
                    f"{at} tests {gate.metric!r}, which the predictions in {relative} do not "
                    f"give a paired test for (not a counting metric of a {meta.task} task); "
                    f"choose among {', '.join(countable)}, or remove test."
                )
            if meta.metrics_file and metric.file != meta.metrics_file:
                raise ConfigError(
                    f"{at} tests {gate.metric!r} of {metric.file}, but {relative} holds the "
                    f"predictions behind {meta.metrics_file}; gate "
                    f"'{meta.metrics_file}:{metric.name}', or remove test."
                )


def slice_metric(gate: GateConfig, meta: PredictionsMeta) -> str:
    prefix = f"{meta.metrics_file}:" if meta.metrics_file else None
    return gate.metric.removeprefix(prefix) if prefix else gate.metric


def check_flat_columns(schema: object, names: Sequence[str], shown: str) -> None:
    """Refuse a column of lists, structs or maps among *names* of an arrow *schema*.

    `mlops-ci evaluate` writes one value per row and column; a file written otherwise (a pull
    request's own writer) would fail deep in the pass, so it is an InputError here, once.
    """
    import pyarrow as pa

    assert isinstance(schema, pa.Schema)
    for name in names:
        kind = schema.field(name).type
        value = kind.value_type if pa.types.is_dictionary(kind) else kind
        if pa.types.is_nested(value):
            raise InputError(
                f"The predictions file {shown} has a column {name!r} of {value}, but each row "
                "must hold one value there; write it with `mlops-ci evaluate` (one number or "
                "text per row and column)."
            )
