"""Gate rules and verdicts: pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_ci.compare import compare_metrics
from mlops_ci.config import GateConfig, GateRule, MetricsConfig
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.gates import evaluate_gates, overall_verdict


def gate(metric, *rules, severity="error", index=0, line=10):
    return GateConfig(metric=metric, rules=tuple(rules), severity=severity, index=index, line=line)


def rule(name, value, *, relative=False):
    text = f"{value:g}%" if relative else f"{value:g}"
    return GateRule(rule=name, value=value, text=text, relative=relative)


def metrics(head, base=None, **config):
    return compare_metrics(
        {"metrics.json": head},
        {"metrics.json": base} if base is not None else None,
        MetricsConfig(**config),
    )


def test_min_passes_and_fails():
    ms = metrics({"roc_auc": 0.96, "acc": 0.90})
    ok, bad = evaluate_gates(
        [gate("roc_auc", rule("min", 0.95)), gate("acc", rule("min", 0.95), index=1)], ms, digits=4
    )
    assert (ok.verdict, ok.limit) == ("pass", 0.95)
    assert bad.verdict == "fail"
    assert "0.9000" in bad.explanation and "at least 0.95" in bad.explanation


def test_max_drop_absolute_names_base_head_and_limit():
    ms = metrics({"accuracy": 0.951}, {"accuracy": 0.986})
    (result,) = evaluate_gates([gate("accuracy", rule("max_drop", 0.01))], ms, digits=4)
    assert result.verdict == "fail"
    assert (result.base, result.head) == (0.986, 0.951)
    assert result.limit == pytest.approx(0.976)
    assert "fell by 0.0350, from 0.9860 to 0.9510" in result.explanation


def test_max_drop_exactly_at_the_limit_passes_despite_float_noise():
    ms = metrics({"accuracy": 0.976014}, {"accuracy": 0.986014})
    (result,) = evaluate_gates([gate("accuracy", rule("max_drop", 0.01))], ms, digits=4)
    assert result.verdict == "pass"


def test_max_drop_percentage_is_relative_to_the_base():
    ms = metrics({"f1": 0.97}, {"f1": 1.0})
    two, five = evaluate_gates(
        [
            gate("f1", rule("max_drop", 2, relative=True)),
            gate("f1", rule("max_drop", 5, relative=True), index=1),
        ],
        ms,
        digits=3,
    )
    assert two.verdict == "fail" and two.limit == pytest.approx(0.98)
    assert five.verdict == "pass" and five.limit == pytest.approx(0.95)


def test_max_increase_for_a_lower_is_better_metric():
    ms = metrics({"log_loss": 0.19}, {"log_loss": 0.07}, higher_is_better={"log_loss": False})
    (result,) = evaluate_gates(
        [gate("log_loss", rule("max_increase", 25, relative=True))], ms, digits=4
    )
    assert result.verdict == "fail" and result.limit == pytest.approx(0.0875)
    assert "rose by 0.1200" in result.explanation


def test_new_metric_is_not_a_failure_but_absolute_rules_still_apply():
    ms = metrics({"f1": 0.5})
    drop, floor = evaluate_gates(
        [gate("f1", rule("max_drop", 0.01), rule("min", 0.9))], ms, digits=4
    )
    assert drop.verdict == "new" and drop.limit is None
    assert floor.verdict == "fail"


def test_gate_on_unknown_metric_lists_the_metrics_that_exist():
    ms = metrics({"accuracy": 0.9, "f1": 0.8})
    with pytest.raises(ConfigError) as err:
        evaluate_gates([gate("f2", rule("min", 0.5), index=3, line=21)], ms, digits=4)
    message = str(err.value)
    assert "mlops.yaml, line 21" in message and "gates[3]" in message and "'f2'" in message
    assert "accuracy, f1" in message


def test_gate_on_a_removed_metric_says_it_disappeared():
    ms = metrics({"accuracy": 0.9}, {"accuracy": 0.9, "f1": 0.8})
    with pytest.raises(ConfigError, match="no longer writes it"):
        evaluate_gates([gate("f1", rule("min", 0.5))], ms, digits=4)


def test_ambiguous_metric_asks_for_file_and_name():
    ms = compare_metrics({"a.json": {"f1": 0.9}, "b.json": {"f1": 0.8}}, None, MetricsConfig())
    with pytest.raises(ConfigError, match="'a.json:f1' or 'b.json:f1'"):
        evaluate_gates([gate("f1", rule("min", 0.5))], ms, digits=4)
    (result,) = evaluate_gates([gate("b.json:f1", rule("min", 0.85))], ms, digits=4)
    assert result.verdict == "fail" and result.head == 0.8


def test_non_numeric_metric_in_a_gate_is_an_input_error():
    ms = metrics({"accuracy": "high"})
    with pytest.raises(InputError, match="'high', not a number"):
        evaluate_gates([gate("accuracy", rule("min", 0.5))], ms, digits=4)


def test_warnings_never_fail_the_run():
    ms = metrics({"f1": 0.5, "acc": 0.99}, {"f1": 0.9, "acc": 0.99})
    results = evaluate_gates(
        [
            gate("f1", rule("max_drop", 0.01), severity="warning"),
            gate("acc", rule("min", 0.9), index=1),
        ],
        ms,
        digits=4,
    )
    verdict = overall_verdict(results)
    assert (verdict.status, verdict.failed, verdict.warnings) == ("pass", 0, 1)
    assert "1 warning" in verdict.summary


def test_an_error_gate_failing_fails_the_run():
    ms = metrics({"acc": 0.5})
    verdict = overall_verdict(evaluate_gates([gate("acc", rule("min", 0.9))], ms, digits=4))
    assert (verdict.status, verdict.failed) == ("fail", 1)
    assert verdict.summary == "1 gate failed: acc min 0.9."


def test_no_gates_passes_and_says_so():
    assert overall_verdict([]).status == "pass"
    assert "No gates" in overall_verdict([]).summary


values = st.floats(min_value=-100, max_value=100, allow_nan=False)


@given(base=values, head=values, allowed=st.floats(min_value=0, max_value=50))
def test_max_drop_passes_exactly_when_head_is_within_the_allowance(base, head, allowed):
    ms = metrics({"m": head}, {"m": base})
    (result,) = evaluate_gates([gate("m", rule("max_drop", allowed))], ms, digits=4)
    assert result.verdict == ("pass" if head >= base - allowed - 1e-9 else "fail")
