"""Metric and param diffs between two snapshots. Pure functions."""

from __future__ import annotations

import base64
import datetime
import math
import sys
from typing import Any

from mlops_ci.config import MetricsConfig
from mlops_ci.report import MetricChange, MetricDiff, ParamDiff

DEFAULT_PARAMS_FILE = "params.yaml"


def is_number(value: Any) -> bool:
    """A real number a float holds finitely (bools are not numbers, whatever Python says).

    NaN, the infinities and integers beyond a float's range (JSON can hold 10**400) are not: no
    delta, percentage or gate can be computed with them.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return abs(value) <= sys.float_info.max  # exact: Python compares int and float exactly
    return False


def json_safe(value: Any) -> Any:
    """A value JSON can hold and every reader reads the same, for any value a file can hold.

    What is not a number travels as text: NaN and infinities as "nan", "inf", "-inf", integers
    beyond a float's range as their digits; YAML dates as ISO 8601 text, ``!!binary`` as
    "!!binary <base64>", ``!!set`` as a sorted list, anything else as its text.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value if is_number(value) else _number_text(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return "!!binary " + base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def _number_text(value: float) -> str:
    try:
        return str(value)  # "nan", "inf", "-inf", or the digits
    except ValueError:  # an integer of more digits than Python will print
        return f"an integer of {int(value).bit_length()} bits"


def compare_metrics(
    head: dict[str, dict[str, Any]],
    base: dict[str, dict[str, Any]] | None,
    config: MetricsConfig,
    unreadable: dict[str, str] | None = None,
    next_base: dict[str, str] | None = None,
) -> list[MetricDiff]:
    """Every metric at head or base: values, deltas and whether it got better.

    A metric whose file the base declares but could not be read (*unreadable*: file -> why) is
    not new: its change is "unknown" and its ``base_note`` says why. A new metric whose file the
    next change will not find at this revision either (*next_base*: file -> why) keeps the why
    in ``next_base_note``, so that no gate says it "applies from the next change on" untruly.

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
                    base_note=(unreadable or {}).get(file),
                    next_base_note=(next_base or {}).get(file),
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
    base_note: str | None = None,
    next_base_note: str | None = None,
) -> MetricDiff:
    higher = config.higher_is_better.get(f"{file}:{name}", config.higher_is_better.get(name, True))
    delta: float | None = None
    delta_pct: float | None = None
    change: MetricChange
    if not in_base:
        change = "unknown" if base_note else "new"
    elif not in_head:
        change = "removed"
    elif is_number(head) and is_number(base):
        delta = _finite_or_none(head - base)  # 1e308 - (-1e308) is no float
        if delta is not None and base != 0:
            delta_pct = _finite_or_none(100.0 * delta / abs(base))
        improved = (head > base) == higher
        change = "unchanged" if head == base else "better" if improved else "worse"
    else:
        # compared as written: NaN at both revisions is unchanged, though NaN != NaN
        change = "unchanged" if json_safe(head) == json_safe(base) else "changed"
    if in_base and not is_number(base) and is_number(head):
        base_note = f"The base holds it as {_describe(base)}, not a number."
    elif in_base:
        base_note = None
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
        base_note=base_note,
        next_base_note=next_base_note if change == "new" else None,
    )


def _describe(value: Any) -> str:
    from mlops_ci.schemas import describe_value

    return describe_value(json_safe(value))


def _finite_or_none(value: float) -> float | None:
    return value if is_number(value) else None


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
            # compared as the report writes them: NaN at both revisions is no modification
            head_value = json_safe(head_values.get(name))
            base_value = json_safe(base_values.get(name))
            if name not in base_values:
                diffs.append(ParamDiff(name, file, None, head_value, "added"))
            elif name not in head_values:
                diffs.append(ParamDiff(name, file, base_value, None, "removed"))
            elif head_value != base_value:
                diffs.append(ParamDiff(name, file, base_value, head_value, "modified"))
    return diffs


def flat_params(params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every param at one revision as ``name -> value`` (``file:name`` outside params.yaml)."""
    return {
        param_key(file, name): json_safe(value)
        for file, values in params.items()
        for name, value in values.items()
    }
