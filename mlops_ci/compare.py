"""Metric and param diffs between two snapshots. Pure functions."""

from __future__ import annotations

import datetime
import math
from typing import Any

from mlops_ci.config import MetricsConfig
from mlops_ci.report import MetricChange, MetricDiff, ParamDiff

DEFAULT_PARAMS_FILE = "params.yaml"


def is_number(value: Any) -> bool:
    """A real, finite number (bools are not numbers here, whatever Python says)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def json_safe(value: Any) -> Any:
    """A value JSON can hold: NaN and infinities travel as strings (and so are not numbers),
    YAML dates as ISO 8601 text, and lists element by element."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return value


def compare_metrics(
    head: dict[str, dict[str, Any]],
    base: dict[str, dict[str, Any]] | None,
    config: MetricsConfig,
) -> list[MetricDiff]:
    """Every metric at head or base: values, deltas and whether it got better.

    Order: the primary metric first, then the metrics in the order their files list them, then
    metrics that exist only at base (removed).
    """
    base = base or {}
    diffs: list[MetricDiff] = []
    for file in [*head, *(f for f in base if f not in head)]:
        head_values = head.get(file, {})
        base_values = base.get(file, {})
        names = [*head_values, *(n for n in base_values if n not in head_values)]
        for name in names:
            diffs.append(
                _metric_diff(
                    name,
                    file,
                    head_values.get(name),
                    base_values.get(name),
                    in_head=name in head_values,
                    in_base=name in base_values,
                    config=config,
                )
            )
    if config.primary:
        diffs.sort(key=lambda d: not d.primary)  # stable: only moves the primary to the front
    return diffs


def _metric_diff(
    name: str,
    file: str,
    head: Any,
    base: Any,
    *,
    in_head: bool,
    in_base: bool,
    config: MetricsConfig,
) -> MetricDiff:
    higher = config.higher_is_better.get(f"{file}:{name}", config.higher_is_better.get(name, True))
    delta: float | None = None
    delta_pct: float | None = None
    change: MetricChange
    if not in_base:
        change = "new"
    elif not in_head:
        change = "removed"
    elif is_number(head) and is_number(base):
        delta = head - base
        if base != 0:
            delta_pct = 100.0 * delta / abs(base)
        improved = (delta > 0) == higher
        change = "unchanged" if delta == 0 else "better" if improved else "worse"
    else:
        change = "unchanged" if head == base else "changed"
    return MetricDiff(
        name=name,
        file=file,
        base=json_safe(base),
        head=json_safe(head),
        delta=delta,
        delta_pct=delta_pct,
        higher_is_better=higher,
        change=change,
        primary=config.primary in (name, f"{file}:{name}"),
    )


def param_key(file: str, name: str) -> str:
    """Params from params.yaml go by their name alone, as DVC shows them; others by file:name."""
    return name if file == DEFAULT_PARAMS_FILE else f"{file}:{name}"


def compare_params(
    head: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]] | None
) -> list[ParamDiff]:
    """The params that were added, removed or modified, in file order."""
    if base is None:
        return []
    diffs: list[ParamDiff] = []
    for file in [*head, *(f for f in base if f not in head)]:
        head_values = head.get(file, {})
        base_values = base.get(file, {})
        for name in [*head_values, *(n for n in base_values if n not in head_values)]:
            if name not in base_values:
                diffs.append(ParamDiff(name, file, None, json_safe(head_values[name]), "added"))
            elif name not in head_values:
                diffs.append(ParamDiff(name, file, json_safe(base_values[name]), None, "removed"))
            elif head_values[name] != base_values[name]:
                diffs.append(
                    ParamDiff(
                        name,
                        file,
                        json_safe(base_values[name]),
                        json_safe(head_values[name]),
                        "modified",
                    )
                )
    return diffs


def flat_params(params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every param at one revision as ``name -> value`` (``file:name`` outside params.yaml)."""
    return {
        param_key(file, name): json_safe(value)
        for file, values in params.items()
        for name, value in values.items()
    }
