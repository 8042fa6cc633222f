"""Gates that know noise from change: the rules judged with evidence. Pure functions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from factories import make_report
from mlops_ci.compare import compare_metrics
from mlops_ci.config import GateConfig, GateRule, MetricsConfig
from mlops_ci.config_evaluation import GateEvidence
from mlops_ci.gates_evidence import GateFacts, PairedFacts, facts_from_report, judge_gates


def gate(metric, *rules, test=None, alpha=0.05, slice=None, index=0, line=10):
    return GateConfig(
        metric=metric, rules=tuple(rules), severity="error", index=index, line=line,
        evidence=GateEvidence(test=test, alpha=alpha, slice=slice),
    )


def rule(name, value, *, relative=False):
    text = f"{value:g}%" if relative else f"{value:g}"
    return GateRule(rule=name, value=value, text=text, relative=relative)


def metrics(head, base=None):
    return compare_metrics(
        {"eval/metrics.json": head},
        {"eval/metrics.json": base} if base is not None else None,
        MetricsConfig(),
    )


DROP = metrics({"accuracy": 0.9089}, {"accuracy": 0.9123})


def judge(g, ms=DROP, facts=None):
    return judge_gates([g], ms, facts or {}, digits=4)


def test_a_drop_within_noise_passes_and_says_so():
    g = gate("accuracy", rule("max_drop", 0), test="mcnemar")
    noise = PairedFacts(p_value=0.41, low=-0.012, high=0.006, estimate=-0.0034)
    (result,) = judge(g, facts={0: GateFacts(test=noise)})
    assert result.verdict == "pass"
    assert result.significance == "within noise"
    assert result.p_value == 0.41 and result.difference == [-0.012, 0.006]
    assert result.test == "mcnemar" and result.alpha == 0.05
    assert result.explanation == (
        "accuracy fell by 0.0034 (0.9123 \u2192 0.9089), within noise: p = 0.41, 95 % interval "
        "of the change \u22120.0120 \u2026 +0.0060; at most 0 is allowed when significant."
    )


def test_a_significant_drop_fails():
    g = gate("accuracy", rule("max_drop", 0), test="mcnemar")
    real = PairedFacts(p_value=0.001, low=-0.05, high=-0.02, estimate=-0.0034)
    (result,) = judge(g, facts={0: GateFacts(test=real)})
    assert result.verdict == "fail" and result.significance == "significant"
    assert "significant: p = 0.001" in result.explanation


def test_mcnemar_needs_the_drop_on_the_predictions_too():
    g = gate("accuracy", rule("max_drop", 0), test="mcnemar")
    rose = PairedFacts(p_value=0.001, low=0.01, high=0.03, estimate=0.02)  # stale metrics.json
    (result,) = judge(g, facts={0: GateFacts(test=rose)})
    assert result.verdict == "pass"


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(-0.05, -0.011, "fail"), (-0.05, -0.009, "pass"), (-0.05, 0.01, "pass")],
)
def test_paired_bootstrap_fails_only_when_the_whole_interval_is_beyond_the_allowance(
    low, high, verdict
):
    ms = metrics({"f1": 0.80}, {"f1": 0.83})
    g = gate("f1", rule("max_drop", 0.01), test="paired_bootstrap")
    facts = {0: GateFacts(test=PairedFacts(p_value=0.001, low=low, high=high))}
    (result,) = judge(g, ms, facts)
    assert result.verdict == verdict, result.explanation
    if verdict == "pass":
        assert "within noise" in result.explanation


def test_percent_allowance_is_of_the_base():
    ms = metrics({"f1": 0.80}, {"f1": 0.90})  # 10 % of 0.9 = 0.09 allowed; fell 0.10
    g = gate("f1", rule("max_drop", 10, relative=True), test="paired_bootstrap")
    beyond = {0: GateFacts(test=PairedFacts(p_value=0.001, low=-0.15, high=-0.091))}
    inside = {0: GateFacts(test=PairedFacts(p_value=0.001, low=-0.15, high=-0.089))}
    assert judge(g, ms, beyond)[0].verdict == "fail"
    assert judge(g, ms, inside)[0].verdict == "pass"


def test_max_increase_is_judged_on_the_upper_side():
    ms = metrics({"mse": 12.0}, {"mse": 10.0})
    g = gate("mse", rule("max_increase", 0), test="paired_bootstrap")
    up = {0: GateFacts(test=PairedFacts(p_value=0.001, low=0.5, high=3.0))}
    either = {0: GateFacts(test=PairedFacts(p_value=0.2, low=-0.5, high=3.0))}
    assert judge(g, ms, up)[0].verdict == "fail"
    assert judge(g, ms, either)[0].verdict == "pass"


def test_without_evidence_the_point_values_decide_and_the_note_says_why():
    g = gate("accuracy", rule("max_drop", 0), test="mcnemar")
    (result,) = judge(g, facts={0: GateFacts(note="the base has no predictions")})
    assert result.verdict == "fail"  # never passes silently
    assert result.evidence_note == "the base has no predictions"
    assert result.significance is None and result.p_value is None
    assert "the base has no predictions" in result.explanation


def test_a_point_pass_keeps_passing_and_shows_the_evidence():
    ms = metrics({"accuracy": 0.95}, {"accuracy": 0.90})
    g = gate("accuracy", rule("max_drop", 0), test="mcnemar")
    facts = {0: GateFacts(test=PairedFacts(p_value=0.003, low=0.02, high=0.08))}
    (result,) = judge(g, ms, facts)
    assert result.verdict == "pass" and result.significance == "significant"
    assert "The change is significant: p = 0.003" in result.explanation


def test_absolute_rules_of_a_tested_gate_are_not_tested():
    g = gate("accuracy", rule("min", 0.95), rule("max_drop", 0), test="mcnemar")
    noise = {0: GateFacts(test=PairedFacts(p_value=0.41, low=-0.012, high=0.006))}
    floor, drop = judge(g, facts=noise)
    assert floor.verdict == "fail" and floor.test is None and floor.p_value is None
    assert drop.verdict == "pass"


def test_a_slice_gate_judges_the_slice_value_and_fails_without_one():
    g = gate("recall", rule("min", 0.8), slice=(("sex", "female"),))
    on_slice = compare_metrics(
        {"eval/predictions.parquet": {"recall": 0.7}}, None, MetricsConfig()
    )[0]
    ms = metrics({"recall": 0.95})  # all rows pass; the slice does not
    (result,) = judge(g, ms, {0: GateFacts(metric=on_slice)})
    assert result.verdict == "fail" and result.head == 0.7
    assert result.slice == {"sex": "female"}
    (unknown,) = judge(g, ms, {0: GateFacts(note="no predictions were read")})
    assert unknown.verdict == "fail" and unknown.severity == "error"
    assert "on the slice {sex: female} was not judged" in unknown.explanation


def test_regate_reuses_the_reports_evidence_and_invents_none():
    g = gate("accuracy", rule("max_drop", 0), test="mcnemar")
    noise = {0: GateFacts(test=PairedFacts(p_value=0.41, low=-0.012, high=0.006))}
    report = make_report(metrics=DROP, gates=judge(g, facts=noise))
    again = judge_gates([g], report.metrics, facts_from_report(report, [g]), digits=4)
    assert again[0].verdict == "pass" and again[0].p_value == 0.41
    stricter = replace(g, evidence=GateEvidence(test="mcnemar", alpha=0.01))
    (other,) = judge_gates(
        [stricter], report.metrics, facts_from_report(report, [stricter]), digits=4
    )
    assert other.verdict == "fail" and "no McNemar's test at alpha 0.01" in other.explanation
    sliced = gate("accuracy", rule("min", 0.5), slice=(("sex", "f"),))
    (unsliced,) = judge_gates(
        [sliced], report.metrics, facts_from_report(report, [sliced]), digits=4
    )
    assert unsliced.verdict == "fail" and "holds no value of this slice" in unsliced.explanation
