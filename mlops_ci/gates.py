"""Evaluate the gates of mlops.yaml against the metric diffs. Pure functions.

Each rule of each gate gives one GateResult. Absolute rules (``min``, ``max``) hold the head
value to a fixed bound; relative rules (``max_drop``, ``max_increase``) hold it to the base value,
by an absolute amount or a percentage of the base. A metric with no base value is "new": the
relative rules cannot apply, and that is not a failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlops_ci.compare import is_number
from mlops_ci.config import GateConfig, GateRule
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.report import GateResult, GateVerdict, MetricDiff, Verdict

# Metrics are written rounded; a head exactly on the limit must pass despite float noise.
TOLERANCE = 1e-9


def evaluate_gates(
    gates: Sequence[GateConfig],
    metrics: Sequence[MetricDiff],
    *,
    digits: int,
    config_file: str = "mlops.yaml",
) -> list[GateResult]:
    results: list[GateResult] = []
    for gate in gates:
        metric = find_metric(gate, metrics, config_file=config_file)
        for rule in gate.rules:
            results.append(
                evaluate_rule(gate, rule, metric, digits=digits, config_file=config_file)
            )
    return results


def find_metric(gate: GateConfig, metrics: Sequence[MetricDiff], *, config_file: str) -> MetricDiff:
    """The metric a gate names, by ``name`` or ``file:name``; present at head."""
    present = [m for m in metrics if m.change != "removed"]
    matches = [m for m in present if gate.metric in (m.name, f"{m.file}:{m.name}")]
    where = _location(gate, config_file)
    if not matches:
        known = ", ".join(_metric_label(m, present) for m in present) or "none"
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


def _metric_label(metric: MetricDiff, metrics: Sequence[MetricDiff]) -> str:
    twins = sum(1 for m in metrics if m.name == metric.name)
    return metric.name if twins == 1 else f"{metric.file}:{metric.name}"


def evaluate_rule(
    gate: GateConfig, rule: GateRule, metric: MetricDiff, *, digits: int, config_file: str
) -> GateResult:
    head = metric.head
    if not is_number(head):
        where = _location(gate, config_file)
        raise InputError(
            f"{where}: gates[{gate.index}] checks metric {gate.metric!r}, but its value in "
            f"{metric.file} is {head!r}, not a number. Gate only numeric metrics, or fix the "
            "stage that writes the file."
        )

    def fmt(value: float) -> str:
        return f"{value:.{digits}f}"

    base = metric.base if is_number(metric.base) else None
    limit: float | None
    verdict: GateVerdict
    if rule.rule in ("min", "max"):
        limit = rule.value
        if rule.rule == "min":
            passed = head >= limit - TOLERANCE
            relation = "at least"
        else:
            passed = head <= limit + TOLERANCE
            relation = "at most"
        verdict = "pass" if passed else "fail"
        explanation = (
            f"{metric.name} is {fmt(head)}; it must be {relation} {rule.text}"
            f"{'' if passed else ' and is not'}."
        )
    elif base is None:
        limit = None
        verdict = "new"
        explanation = (
            f"{metric.name} has no base value to compare with (new metric); "
            f"{rule.rule} {rule.text} applies from the next change on."
        )
    else:
        allowed = abs(base) * rule.value / 100.0 if rule.relative else rule.value
        if rule.rule == "max_drop":
            limit = base - allowed
            passed = head >= limit - TOLERANCE
            moved, direction = base - head, "fell"
        else:
            limit = base + allowed
            passed = head <= limit + TOLERANCE
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
        severity=gate.severity,
        verdict=verdict,
        base=metric.base,
        head=head,
        limit=limit,
        explanation=explanation,
        gate_index=gate.index,
        line=gate.line,
    )


def overall_verdict(results: Sequence[GateResult]) -> Verdict:
    failed = [r for r in results if r.verdict == "fail" and r.severity == "error"]
    warned = [r for r in results if r.verdict == "fail" and r.severity == "warning"]
    if failed:
        names = ", ".join(f"{r.metric} {r.rule} {r.threshold_text}" for r in failed)
        summary = f"{len(failed)} gate{'s' if len(failed) > 1 else ''} failed: {names}."
    elif warned:
        names = ", ".join(f"{r.metric} {r.rule} {r.threshold_text}" for r in warned)
        plural = "s" if len(warned) > 1 else ""
        summary = f"No blocking gate failed; {len(warned)} warning{plural}: {names}."
    elif results:
        passed = sum(1 for r in results if r.verdict == "pass")
        new = len(results) - passed
        checks = f"{passed} gate check{'s' if passed != 1 else ''} passed"
        if new:
            summary = f"{checks}; {new} wait for a base value (new metrics)."
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
