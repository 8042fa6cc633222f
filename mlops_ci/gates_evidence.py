"""Gates that know noise from change: the rules of ``gates.py``, judged with evidence. Pure.

A gate with ``test:`` fails a relative rule (``max_drop``, ``max_increase``) only when the point
values break it AND the evidence shows it: for the paired bootstrap, when the whole 1 - alpha
interval of head - base lies beyond the allowed change in the rule's bad direction; for
McNemar's test (accuracy), when p < alpha and accuracy moved the bad way. Otherwise the rule
passes, "within noise", with the p-value and the interval in its explanation. Without evidence
(no base predictions, a test set that changed, a fork's report) a rule is judged on point
values alone, and ``evidence_note`` says why: it never passes silently.

A gate with ``slice:`` judges the metric on that slice's rows, whose base and head values the
caller computed from the predictions files (:class:`GateFacts`); without them, every rule of
the gate fails with error severity and says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mlops_ci.compare import is_number
from mlops_ci.config import GateConfig, GateRule
from mlops_ci.config_evaluation import RELATIVE_RULES
from mlops_ci.gates import at_least, at_most, evaluate_rule, find_metric
from mlops_ci.report import GateResult, MetricDiff, Report, Significance

NO_EVIDENCE = "no per-row predictions were read, so the rule was judged on point values alone"


@dataclass(frozen=True)
class PairedFacts:
    """What a paired test said about head - base of one metric (on one slice, or all rows)."""

    p_value: float
    low: float  # the 1 - alpha interval of head - base (the paired bootstrap's)
    high: float
    estimate: float | None = None  # head - base on the predictions; None: not known


@dataclass(frozen=True)
class GateFacts:
    """What the predictions files said for one gate (keyed by its index in mlops.yaml)."""

    metric: MetricDiff | None = None  # a slice gate's metric on the slice's rows
    test: PairedFacts | None = None  # None: no test could run (note says why)
    note: str | None = None  # why there is no test, or (slice gates) no value


def slice_dict(gate: GateConfig) -> dict[str, Any] | None:
    chosen = gate.evidence.slice
    return dict(chosen) if chosen else None


def judge_gates(
    gates: Sequence[GateConfig],
    metrics: Sequence[MetricDiff],
    facts: Mapping[int, GateFacts],
    *,
    digits: int,
    config_file: str = "mlops.yaml",
    base_missing: str = "fail",
) -> list[GateResult]:
    """Every rule of every gate, with the evidence in *facts* where a gate asks for it."""
    results: list[GateResult] = []
    for gate in gates:
        found = facts.get(gate.index, GateFacts())
        if gate.evidence.slice:
            if found.metric is None:
                why = found.note or "no per-row predictions were read to compute it"
                results += unjudged(gate, f"its value on the slice is not known: {why}")
                continue
            metric = found.metric
        else:
            metric = find_metric(gate, metrics, config_file=config_file)
        for rule in gate.rules:
            result = evaluate_rule(
                gate, rule, metric, digits=digits, config_file=config_file,
                base_missing=base_missing,
            )
            result = replace(result, slice=slice_dict(gate))
            if gate.evidence.test and rule.rule in RELATIVE_RULES:
                result = _with_test(result, gate, rule, metric, found, digits)
            results.append(result)
    return results


def unjudged(gate: GateConfig, why: str) -> list[GateResult]:
    """Every rule of *gate*, failed with error severity: its value could not be known."""
    where = f" on the slice {_slice_text(gate)}" if gate.evidence.slice else ""
    return [
        GateResult(
            metric=gate.metric,
            rule=rule.rule,
            threshold=rule.value,
            threshold_text=rule.text,
            relative=rule.relative,
            severity="error",
            verdict="fail",
            base=None,
            head=None,
            limit=None,
            explanation=f"{gate.metric}{where} was not judged, so the gate fails: {why}",
            gate_index=gate.index,
            line=gate.line,
            test=gate.evidence.test if rule.rule in RELATIVE_RULES else None,
            alpha=gate.evidence.alpha if gate.evidence.test and rule.rule in RELATIVE_RULES
            else None,
            slice=slice_dict(gate),
        )
        for rule in gate.rules
    ]


def _slice_text(gate: GateConfig) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in gate.evidence.slice or ()) + "}"


def _with_test(
    result: GateResult,
    gate: GateConfig,
    rule: GateRule,
    metric: MetricDiff,
    found: GateFacts,
    digits: int,
) -> GateResult:
    test, alpha = gate.evidence.test, gate.evidence.alpha
    result = replace(result, test=test, alpha=alpha)
    if result.verdict == "new" or result.base is None or result.limit is None:
        return result  # no base value: nothing to test; the point explanation says why
    facts = found.test
    if facts is None:
        note = found.note or NO_EVIDENCE
        return replace(
            result, evidence_note=note,
            explanation=f"{result.explanation} No {_test_name(test)}: {note}",
        )

    def fmt(value: float) -> str:
        return f"{value:.{digits}f}"

    def signed(value: float) -> str:
        return ("+" if value > 0 else "\u2212" if value < 0 else "") + fmt(abs(value))

    significance: Significance = "significant" if facts.p_value < alpha else "within noise"
    level = f"{100 * (1 - alpha):g} %"
    evidence = (
        f"p = {facts.p_value:.2g}, {level} interval of the change "
        f"{signed(facts.low)} \u2026 {signed(facts.high)}"
    )
    result = replace(
        result, p_value=facts.p_value, difference=[facts.low, facts.high],
        significance=significance,
    )
    if result.verdict != "fail":
        return replace(result, explanation=f"{result.explanation} The change is {significance}: "
                       f"{evidence}.")
    base, head = float(result.base), float(result.head)
    allowed = abs(base) * (rule.value / 100.0) if rule.relative else rule.value
    drop = rule.rule == "max_drop"
    if test == "mcnemar":
        moved = facts.estimate if facts.estimate is not None else head - base
        shown = facts.p_value < alpha and (moved < 0 if drop else moved > 0)
    elif drop:  # the whole interval below -allowed
        shown = not at_least(facts.high, -allowed, allowed)
    else:
        shown = not at_most(facts.low, allowed, allowed)
    moved_text = (
        f"{metric.name} {'fell' if drop else 'rose'} by {fmt(abs(head - base))} "
        f"({fmt(base)} \u2192 {fmt(head)})"
    )
    allowance = f"{rule.text} of the base ({fmt(allowed)})" if rule.relative else rule.text
    if shown:
        return replace(result, significance="significant", explanation=(
            f"{moved_text}, significant: {evidence}; at most {allowance} is allowed."
        ))
    beyond = "" if allowed == 0 or test == "mcnemar" else f" beyond {fmt(allowed)}"
    return replace(
        result,
        verdict="pass",
        severity=gate.severity,
        significance="within noise" if not beyond else significance,
        explanation=(
            f"{moved_text}, a {'drop' if drop else 'rise'}{beyond} within noise: {evidence}; "
            f"at most {allowance} is allowed when significant."
            if beyond else
            f"{moved_text}, within noise: {evidence}; at most {allowance} is allowed when "
            "significant."
        ),
    )


def _test_name(test: str | None) -> str:
    return "McNemar's test" if test == "mcnemar" else "paired bootstrap"


def facts_from_report(report: Report, gates: Sequence[GateConfig]) -> dict[int, GateFacts]:
    """The evidence *report* holds for *gates* (`mlops-ci gate` judges again, instantly).

    A gate's evidence is taken from the report's results of a gate on the same metric, slice,
    test and alpha, whatever its rules; what the report does not hold is not invented.
    """
    facts: dict[int, GateFacts] = {}
    predictions = report.evaluation.predictions if report.evaluation else "the predictions"
    for gate in gates:
        if not (gate.evidence.test or gate.evidence.slice):
            continue
        chosen = slice_dict(gate)
        same = [r for r in report.gates if r.metric == gate.metric and r.slice == chosen]
        metric = None
        if chosen:
            valued = [r for r in same if is_number(r.head)]
            if valued:
                metric = _slice_metric(valued[0], predictions, report)
        tested = [
            r for r in same
            if r.test == gate.evidence.test and r.alpha == gate.evidence.alpha
            and r.p_value is not None and r.difference is not None
        ]
        test = None
        if tested:
            low, high = tested[0].difference or (0.0, 0.0)
            test = PairedFacts(p_value=tested[0].p_value or 0.0, low=low, high=high)
        notes = [r.evidence_note for r in same if r.evidence_note]
        note = notes[0] if notes else (
            f"the report holds no {_test_name(gate.evidence.test)} at alpha "
            f"{gate.evidence.alpha:g} for this gate; run `mlops-ci diff` or `mlops-ci run` "
            "again to compute it"
            if gate.evidence.test else None
        )
        if chosen and metric is None:
            note = (
                "the report holds no value of this slice; run `mlops-ci diff` or `mlops-ci run` "
                "again to compute it"
            )
        facts[gate.index] = GateFacts(metric=metric, test=test, note=note)
    return facts


def _slice_metric(result: GateResult, predictions: str, report: Report) -> MetricDiff:
    """A slice gate's metric as the report's result of it holds it."""
    from mlops_ci.compare import compare_metrics
    from mlops_ci.config import MetricsConfig

    higher = next((m.higher_is_better for m in report.metrics if m.name == result.metric), True)
    base = {predictions: {result.metric: result.base}} if is_number(result.base) else {}
    unknown = {} if result.verdict == "new" or base else {
        predictions: (report.evaluation.note if report.evaluation else None)
        or "the base's value on this slice is not known."
    }
    (diff,) = compare_metrics(
        {predictions: {result.metric: result.head}}, base,
        MetricsConfig(higher_is_better={result.metric: higher}), unknown,
    )
    return diff
