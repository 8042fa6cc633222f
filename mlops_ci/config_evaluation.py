"""mlops.yaml's `evaluation` section, and the evidence keys of a gate (`test`, `alpha`, `slice`).

The schema has checked each value's shape; here the combinations no gate can mean are refused:
a test on a rule that does not compare with the base, McNemar's test on a metric other than
accuracy, DeLong's on one other than ROC AUC, the bootstrap on a rank metric, an `alpha`
without a test. See docs/evaluation.md and docs/configuration.md (Gate
semantics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlops_ci.config_yaml import Positions
from mlops_ci.config_yaml import at as _at
from mlops_ci.errors import ConfigError

DEFAULT_PREDICTIONS = "eval/predictions.parquet"
DEFAULT_ALPHA = 0.05
TestName = Literal["paired_bootstrap", "mcnemar", "delong"]
# rank metrics: a Poisson reweighting does not reduce to counts (evaluation/bootstrap.py)
RANK_METRICS = ("roc_auc", "average_precision")
RELATIVE_RULES = ("max_drop", "max_increase")


@dataclass(frozen=True)
class EvaluationConfig:
    predictions: str = DEFAULT_PREDICTIONS  # relative to the repository root
    slices: tuple[tuple[str, ...], ...] = ()  # each a column, or columns combined
    confidence: float = 0.95
    replicates: int = 1000
    seed: int = 0
    declared: bool = False  # mlops.yaml has an `evaluation` section


@dataclass(frozen=True)
class GateEvidence:
    """A gate's `test`, `alpha` and `slice`, checked against its rules."""

    test: TestName | None = None
    alpha: float = DEFAULT_ALPHA
    slice: tuple[tuple[str, Any], ...] | None = None  # (column, value) pairs, in file order


def bare_metric(metric: str) -> str:
    """A gate's metric without its file: ``eval/metrics.json:accuracy`` -> ``accuracy``.

    The part before the last ``:`` is a file when it looks like a path (a ``/`` or a file
    suffix); otherwise the ``:`` is part of the metric's own name and *metric* is returned.
    """
    file, colon, name = metric.rpartition(":")
    if colon and name and ("/" in file or "." in file.rsplit("/", 1)[-1]):
        return name
    return metric


def evaluation_config(section: Mapping[str, Any] | None, present: bool) -> EvaluationConfig:
    """`evaluation:` as the schema has checked it (paths are checked by the caller)."""
    data = dict(section or {})
    slices = tuple(
        (entry,) if isinstance(entry, str) else tuple(entry) for entry in data.get("slices") or ()
    )
    return EvaluationConfig(
        predictions=data.get("predictions", DEFAULT_PREDICTIONS),
        slices=slices,
        confidence=float(data.get("confidence", EvaluationConfig.confidence)),
        replicates=int(data.get("replicates", EvaluationConfig.replicates)),
        seed=int(data.get("seed", EvaluationConfig.seed)),
        declared=present,
    )


def gate_evidence(
    gate: Mapping[str, Any], index: int, positions: Positions, name: str
) -> GateEvidence:
    """The evidence keys of gates[*index*], refused where they cannot mean anything."""
    test = gate.get("test")
    metric = bare_metric(str(gate["metric"]))
    rules = [key for key in ("min", "max", *RELATIVE_RULES) if key in gate]
    if test is not None:
        where = _at(name, positions, ("gates", index, "test"))
        if not any(rule in RELATIVE_RULES for rule in rules):
            raise ConfigError(
                f"{where}: gates[{index}] has test {test!r} but no max_drop or max_increase, and "
                "a test judges a change from the base; add one of them (max_drop: 0 fails any "
                "significant drop), or remove the test."
            )
        if test == "mcnemar" and metric != "accuracy":
            raise ConfigError(
                f"{where}: gates[{index}] has test mcnemar on {gate['metric']!r}, but McNemar's "
                "test compares accuracy only; use test: paired_bootstrap for other metrics."
            )
        if test == "delong" and metric != "roc_auc":
            raise ConfigError(
                f"{where}: gates[{index}] has test delong on {gate['metric']!r}, but DeLong's "
                "test compares ROC AUC only; use test: paired_bootstrap for counting metrics."
            )
        if test == "paired_bootstrap" and metric in RANK_METRICS:
            instead = (
                "use test: delong" if metric == "roc_auc"
                else "gate on a counting metric (precision, recall, f1) with the test instead"
            )
            raise ConfigError(
                f"{where}: gates[{index}] has test paired_bootstrap on {gate['metric']!r}, a "
                f"rank metric that the streaming bootstrap cannot resample; {instead}."
            )
    if "alpha" in gate and test is None:
        raise ConfigError(
            f"{_at(name, positions, ('gates', index, 'alpha'))}: gates[{index}] has alpha but "
            "no test; add test: paired_bootstrap or test: mcnemar, or remove alpha."
        )
    chosen = gate.get("slice")
    return GateEvidence(
        test=test,
        alpha=float(gate.get("alpha", DEFAULT_ALPHA)),
        slice=tuple(chosen.items()) if chosen else None,
    )
