"""Evaluate the gates of mlops.yaml against the metric diffs. Pure functions.

Each rule of each gate gives one GateResult. Absolute rules (``min``, ``max``) hold the head
value to a fixed bound; relative rules (``max_drop``, ``max_increase``) hold it to the base value,
by an absolute amount or a percentage of the base. A metric the base provably does not produce is
"new": the relative rules cannot apply, and that is not a failure. A metric the base has but whose
value could not be read, or is not a number (NaN), fails the relative rules with the reason: a
pass there would hide a model that got worse. `base: {missing: warn}` makes those warnings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mlops_ci.compare import is_number
from mlops_ci.config import GateConfig, GateRule
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.report import GateResult, GateVerdict, MetricDiff, Report, Verdict
from mlops_ci.schemas import describe_value

# A head exactly on the limit must pass despite float noise (0.1 + 0.2 is 0.30000000000000004),
# and noise is relative: about 4,500 units in the last place of the largest number compared.
# An absolute tolerance would let `max: 0` pass 5e-10.
RELATIVE_TOLERANCE = 1e-12


def find_metric(gate: GateConfig, metrics: Sequence[MetricDiff], *, config_file: str) -> MetricDiff:
    """The metric a gate names, by ``name`` or ``file:name``; present at head."""
    present = [m for m in metrics if m.change != "removed"]
    matches = [m for m in present if gate.metric in (m.name, f"{m.file}:{m.name}")]
    where = _location(gate, config_file)
    if not matches:
        known = metrics_found(metrics)
        removed = [m for m in metrics if m.change == "removed" and gate.metric == m.name]
        why = " It existed at the base but the pipeline no longer writes it." if removed else ""
        raise ConfigError(
            f"{where}: gates[{gate.index}] names metric {gate.metric!r}, which the metrics files "
            f"do not contain.{why} Metrics found: {known}."
        )
    if len(matches) > 1:
        options = " or ".join(f"'{m.file}:{m.name}'" for m in matches)
        raise ConfigError(
            f"{where}: gates[{gate.index}] metric {gate.metric!r} is in several metrics files; "
            f"name one of them as {options}."
        )
    return matches[0]


def _location(gate: GateConfig, config_file: str) -> str:
    """Where a gate stands, as the start of a message: ``mlops.yaml, line 17``."""
    return f"{config_file}, line {gate.line}" if gate.line else config_file


def metrics_found(metrics: Sequence[MetricDiff], *, shown: int = 20) -> str:
    """The metrics present at head, as mlops.yaml would name them, for "Metrics found: ..."."""
    present = [m for m in metrics if m.change != "removed"]
    names = [describe_metric(metric_label(m, present)) for m in present[:shown]]
    more = f" and {len(present) - shown} more" if len(present) > shown else ""
    return (", ".join(names) + more) or "none"


def describe_metric(name: str) -> str:
    """A metric name in a message: as written, or shortened and quoted when it is long."""
    return name if len(name) <= 60 else describe_value(name)


def metric_label(metric: MetricDiff, metrics: Sequence[MetricDiff]) -> str:
    """A metric as mlops.yaml names it: ``f1``, or ``eval.json:f1`` when two files hold f1."""
    twins = sum(1 for m in metrics if m.name == metric.name)
    return metric.name if twins == 1 else f"{metric.file}:{metric.name}"


def evaluate_rule(
    gate: GateConfig,
    rule: GateRule,
    metric: MetricDiff,
    *,
    digits: int,
    config_file: str,
    base_missing: str = "fail",
) -> GateResult:
    head = metric.head
    if not is_number(head):
        where = _location(gate, config_file)
        raise InputError(
            f"{where}: gates[{gate.index}] checks metric {gate.metric!r}, but its value in "
            f"{metric.file} is {describe_value(head)}, not a number (NaN and infinity are not "
            "numbers either). Gate only numeric metrics, or fix the stage that writes the file."
        )

    def fmt(value: float) -> str:
        return f"{value:.{digits}f}"

    base = metric.base if is_number(metric.base) else None
    limit: float | None
    verdict: GateVerdict
    severity = gate.severity
    if rule.rule in ("min", "max"):
        limit = rule.value
        if rule.rule == "min":
            passed = at_least(head, limit)
            relation = "at least"
        else:
            passed = at_most(head, limit)
            relation = "at most"
        verdict = "pass" if passed else "fail"
        explanation = (
            f"{metric.name} is {fmt(head)}; it must be {relation} {rule.text}"
            f"{'' if passed else ' and is not'}."
        )
    elif base is None and metric.change == "new":
        limit = None
        verdict = "new"
        later = (
            f"it cannot apply from the next change on either: {metric.next_base_note}"
            if metric.next_base_note
            else "applies from the next change on."
        )
        explanation = (
            f"{metric.name} has no base value to compare with: the base does not produce "
            f"{metric.file} (new metric); {rule.rule} {rule.text} {later}"
        )
    elif base is None:
        # The base has the metric, unreadable or not a number: a pass would hide a model that
        # got worse. `base: {missing: warn}` in mlops.yaml lets it through, as a warning.
        limit = None
        verdict = "fail"
        if base_missing == "warn":
            severity = "warning"
        why = metric.base_note or (
            f"The base holds it as {describe_value(metric.base)}, not a number."
        )
        soften = (
            "" if base_missing == "warn"
            else " (`base: {missing: warn}` in mlops.yaml makes this a warning)"
        )
        explanation = (
            f"{metric.name}'s base value is unavailable, so {rule.rule} {rule.text} could not be "
            f"checked{soften}: {why}"
        )
    else:
        allowed = abs(base) * (rule.value / 100.0) if rule.relative else rule.value
        if rule.rule == "max_drop":
            limit = base - allowed
            passed = at_least(head, limit, base, allowed)
            moved, direction = base - head, "fell"
        else:
            limit = base + allowed
            passed = at_most(head, limit, base, allowed)
            moved, direction = head - base, "rose"
        verdict = "pass" if passed else "fail"
        allowance = f"{rule.text} of the base ({fmt(allowed)})" if rule.relative else rule.text
        if moved > 0:
            explanation = (
                f"{metric.name} {direction} by {fmt(moved)}, from {fmt(base)} to {fmt(head)}; "
                f"at most {allowance} is allowed."
            )
        else:
            explanation = (
                f"{metric.name} went from {fmt(base)} to {fmt(head)}; "
                f"{rule.rule} {rule.text} allows down to {fmt(limit)}."
                if rule.rule == "max_drop"
                else f"{metric.name} went from {fmt(base)} to {fmt(head)}; "
                f"{rule.rule} {rule.text} allows up to {fmt(limit)}."
            )
    return GateResult(
        metric=gate.metric,
        rule=rule.rule,
        threshold=rule.value,
        threshold_text=rule.text,
        relative=rule.relative,
        severity=severity,
        verdict=verdict,
        base=metric.base,
        head=head,
        limit=limit if limit is not None and math.isfinite(limit) else None,  # overflowed: none
        explanation=explanation,
        gate_index=gate.index,
        line=gate.line,
    )


def at_least(value: float, floor: float, *operands: float) -> bool:
    """``value >= floor`` up to the rounding noise of the numbers that made *floor*."""
    return value >= floor - _noise(value, floor, *operands)


def at_most(value: float, ceiling: float, *operands: float) -> bool:
    """``value <= ceiling`` up to the rounding noise of the numbers that made *ceiling*."""
    return value <= ceiling + _noise(value, ceiling, *operands)


def _noise(*numbers: float) -> float:
    finite = [abs(n) for n in numbers if math.isfinite(n)]  # an overflowed limit is no scale
    return RELATIVE_TOLERANCE * max(finite, default=0.0)


def failure_counts(results: Sequence[GateResult], severity: str) -> tuple[int, int]:
    """(gates, rules) that failed with *severity*: a gate with two failing rules is one gate."""
    failed = [r for r in results if r.verdict == "fail" and r.severity == severity]
    return len({r.gate_index for r in failed}), len(failed)


def count_text(gates: int, rules: int, noun: str, verb: str = "") -> str:
    """``1 gate failed (2 rules)``, ``2 warnings``: by gate, with the rules when they differ."""
    text = f"{gates} {noun}{'' if gates == 1 else 's'}" + (f" {verb}" if verb else "")
    return text + (f" ({rules} rules)" if rules != gates else "")


def failure_text(report: Report) -> str:
    """``1 gate failed (2 rules), 1 warning``: the count every view shows, by gate."""
    failed = failure_counts(report.gates, "error")
    warned = failure_counts(report.gates, "warning")
    # a verdict whose rules are not in the report (a report built by hand): its own counts
    if not failed[0] and report.verdict.failed:
        failed = (report.verdict.failed, report.verdict.failed)
    if not warned[0] and report.verdict.warnings:
        warned = (report.verdict.warnings, report.verdict.warnings)
    parts = [count_text(*failed, "gate", "failed")] if failed[0] else []
    if warned[0]:
        parts.append(count_text(*warned, "warning"))
    return ", ".join(parts) or "no gate failed"


def overall_verdict(results: Sequence[GateResult]) -> Verdict:
    failed = [r for r in results if r.verdict == "fail" and r.severity == "error"]
    warned = [r for r in results if r.verdict == "fail" and r.severity == "warning"]
    if failed:
        names = ", ".join(f"{r.metric} {r.rule} {r.threshold_text}" for r in failed)
        summary = f"{count_text(*failure_counts(results, 'error'), 'gate', 'failed')}: {names}."
    elif warned:
        names = ", ".join(f"{r.metric} {r.rule} {r.threshold_text}" for r in warned)
        counted = count_text(*failure_counts(results, "warning"), "warning")
        summary = f"No blocking gate failed; {counted}: {names}."
    elif results:
        waiting = {r.gate_index for r in results if r.verdict == "new"}
        passed = [r for r in results if r.verdict == "pass" and r.gate_index not in waiting]
        checks = count_text(len({r.gate_index for r in passed}), len(passed), "gate", "passed")
        if waiting:
            new = sum(1 for r in results if r.verdict == "new")
            summary = (
                f"{checks}; {count_text(len(waiting), new, 'gate')} "
                f"{'waits' if len(waiting) == 1 else 'wait'} for a base value (new metrics)."
            )
        else:
            summary = f"All {checks}."
    else:
        summary = "No gates are declared in mlops.yaml; nothing was checked."
    return Verdict(
        status="fail" if failed else "pass",
        failed=len(failed),
        warnings=len(warned),
        summary=summary,
    )
