"""Gate rules and verdicts: pure functions."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conftest import cli, git, tree_state
from mlops_ci.compare import compare_metrics
from mlops_ci.config import GateConfig, GateRule, MetricsConfig
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.gates import overall_verdict
from mlops_ci.gates_evidence import judge_gates
from mlops_ci.report import GateResult


def evaluate_gates(gates: Any, metrics: Any, **options: Any) -> list[GateResult]:
    """The gates judged as `run` judges them without predictions files: no evidence."""
    return judge_gates(gates, metrics, {}, **options)


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
    limit = base - allowed
    if head >= limit:
        assert result.verdict == "pass"
    elif limit - head > 1e-9 * max(abs(base), abs(allowed), abs(head)):
        assert result.verdict == "fail"  # beyond any rounding noise, at every magnitude


# --- the tolerance is relative: rounding noise passes, small values still gate ------------------


def test_max_zero_fails_a_tiny_positive_value():
    # an absolute 1e-9 tolerance let 5e-10 pass `max: 0`
    (result,) = evaluate_gates([gate("m", rule("max", 0))], metrics({"m": 5e-10}), digits=4)
    assert result.verdict == "fail"
    (result,) = evaluate_gates([gate("m", rule("min", 1e-9))], metrics({"m": 5e-10}), digits=4)
    assert result.verdict == "fail"


def test_float_noise_on_the_limit_passes():
    (result,) = evaluate_gates([gate("m", rule("max", 0.3))], metrics({"m": 0.1 + 0.2}), digits=4)
    assert 0.1 + 0.2 > 0.3 and result.verdict == "pass"


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@given(limit=finite, steps=st.integers(0, 8), up=st.booleans())
def test_a_head_a_few_ulps_from_the_limit_passes_min_and_max(limit, steps, up):
    # units in the last place are relative; at 0 (and among subnormals) none is noise
    assume(abs(limit) >= sys.float_info.min)
    head = limit
    for _ in range(steps):
        head = math.nextafter(head, math.inf if up else -math.inf)
    ms = metrics({"m": head})
    low, high = evaluate_gates([gate("m", rule("min", limit), rule("max", limit))], ms, digits=4)
    assert (low.verdict, high.verdict) == ("pass", "pass")


@given(
    mantissa=st.floats(min_value=1, max_value=10),
    gap=st.floats(min_value=1e-9, max_value=1e3),
    scale=st.sampled_from([1e-300, 1e-20, 1e-9, 1.0, 1e9, 1e200]),
)
def test_a_head_beyond_rounding_noise_is_judged_at_every_magnitude(mantissa, gap, scale):
    # the same relative difference gives the same verdict for metrics near 1e-9 and near 1e9
    low = mantissa * scale
    high = low * (1 + gap)
    (over_max,) = evaluate_gates([gate("m", rule("max", low))], metrics({"m": high}), digits=4)
    assert over_max.verdict == "fail"
    (under_min,) = evaluate_gates([gate("m", rule("min", high))], metrics({"m": low}), digits=4)
    assert under_min.verdict == "fail"


# --- values that are not numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), 10**400],
    ids=["nan", "inf", "-inf", "1e400"],
)
def test_min_and_max_on_a_head_that_is_not_a_number_are_input_errors(value):
    ms = metrics({"m": value}, {"m": 0.5})
    for bound in (rule("min", 0.5), rule("max", 0.5)):
        with pytest.raises(InputError, match="not a number"):
            evaluate_gates([gate("m", bound)], ms, digits=4)


@pytest.mark.parametrize("base", [float("nan"), float("inf"), 10**400], ids=["nan", "inf", "1e400"])
def test_a_relative_gate_against_a_base_that_is_not_a_number_says_so(base):
    ms = metrics({"m": 0.9}, {"m": base})
    drop, floor = evaluate_gates(
        [gate("m", rule("max_drop", 2, relative=True), rule("min", 0.5))], ms, digits=4
    )
    # the base has the metric but not as a number: a pass would hide a worse model
    assert drop.verdict == "fail" and drop.severity == "error" and drop.limit is None
    assert "not a number" in drop.explanation and "missing: warn" in drop.explanation
    assert "could not be checked" in drop.explanation and "new metric" not in drop.explanation
    assert floor.verdict == "pass"  # absolute rules do not need the base
    assert overall_verdict([drop, floor]).status == "fail"
    (soft,) = evaluate_gates(
        [gate("m", rule("max_drop", 2, relative=True))], ms, digits=4, base_missing="warn"
    )
    assert (soft.verdict, soft.severity) == ("fail", "warning")
    assert overall_verdict([soft]).warnings == 1


def test_a_huge_but_finite_base_gives_a_finite_report():
    # 1e308 - (-1e308) overflows a float: no delta, no limit, but a verdict and valid JSON
    ms = metrics({"m": -1e308}, {"m": 1e308})
    assert ms[0].delta is None and ms[0].change == "worse"
    (drop,) = evaluate_gates([gate("m", rule("max_drop", 1e308))], ms, digits=4)
    assert drop.verdict == "fail" and drop.limit == 0.0
    (wide,) = evaluate_gates([gate("m", rule("max_drop", 1e40, relative=True))], ms, digits=4)
    assert wide.verdict == "pass" and wide.limit is None  # the limit overflowed to -inf
    assert math.isfinite(overall_verdict([drop, wide]).failed)


# --- end to end: the values come from metrics.json in a real project ----------------------------


def write_metrics(project: Path, text: str) -> None:
    (project / "metrics.json").write_text(text, encoding="utf-8")


def on_a_branch_from_base(project: Path, base_metrics: str) -> None:
    """Commit *base_metrics* on main, then start a pull-request branch from it."""
    write_metrics(project, base_metrics)
    git("commit", "--quiet", "--all", "-m", "Base metrics", cwd=project)
    git("checkout", "--quiet", "-b", "change", cwd=project)


HEAD_METRICS = (
    '{"accuracy": 0.98, "roc_auc": 0.99, "f1": 0.97, "precision": 0.97, "recall": 0.97, '
    '"log_loss": 0.07}'
)


def test_nan_at_the_base_fails_the_relative_gate_and_says_why(project: Path):
    on_a_branch_from_base(
        project, '{"accuracy": NaN, "roc_auc": 0.99, "f1": 0.97, "log_loss": 0.07}'
    )
    write_metrics(project, HEAD_METRICS)
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 1, result.stderr
    report = json.loads((project / ".mlops" / "report.json").read_text())
    (accuracy,) = [g for g in report["gates"] if g["metric"] == "accuracy"]
    assert accuracy["verdict"] == "fail" and accuracy["base"] == "nan"
    assert accuracy["explanation"] == (
        "accuracy's base value is unavailable, so max_drop 0.01 could not be checked "
        "(`base: {missing: warn}` in mlops.yaml makes this a warning): "
        "The base holds it as 'nan', not a number."
    )
    (metric,) = [m for m in report["metrics"] if m["name"] == "accuracy"]
    assert metric["base_note"] == "The base holds it as 'nan', not a number."
    assert "Base value missing" in (project / ".mlops" / "report.md").read_text()


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN"])
def test_a_non_finite_head_on_a_min_gate_is_an_input_error(project: Path, value: str):
    write_metrics(project, HEAD_METRICS.replace('"roc_auc": 0.99', f'"roc_auc": {value}'))
    before = tree_state(project)
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 2, result.stderr
    shown = {"Infinity": "'inf'", "-Infinity": "'-inf'", "NaN": "'nan'"}[value]
    assert result.stderr == (
        "mlops-ci: error: mlops.yaml, line 15: gates[0] checks metric 'roc_auc', but its value "
        f"in metrics.json is {shown}, not a number (NaN and infinity are not numbers either). "
        "Gate only numeric metrics, or fix the stage that writes the file.\n"
    )
    assert tree_state(project) == before and not (project / ".mlops").exists()


def test_a_primary_metric_that_does_not_exist_is_a_config_error(project: Path):
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("primary: roc_auc", "primary: auc"))
    before = tree_state(project)
    result = cli("diff", cwd=project)
    assert result.code == 2, result.stderr
    assert result.stderr == (
        "mlops-ci: error: mlops.yaml, line 10: metrics.primary names metric 'auc', which the "
        "metrics files do not contain. Metrics found: accuracy, roc_auc, f1, precision, recall, "
        "log_loss. Name one of them, or remove the key.\n"
    )
    assert tree_state(project) == before
