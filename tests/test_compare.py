"""Metric and param diffs: pure functions."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from conftest import cli
from mlops_ci.compare import compare_metrics, compare_params, flat_params, is_number, json_safe
from mlops_ci.config import MetricsConfig

CONFIG = MetricsConfig(primary="roc_auc", higher_is_better={"log_loss": False})


def by_name(diffs):
    return {d.name: d for d in diffs}


def test_better_and_worse_follow_each_metrics_direction():
    diffs = by_name(
        compare_metrics(
            {"metrics.json": {"accuracy": 0.90, "log_loss": 0.20, "roc_auc": 0.99}},
            {"metrics.json": {"accuracy": 0.95, "log_loss": 0.30, "roc_auc": 0.99}},
            CONFIG,
        )
    )
    assert diffs["accuracy"].change == "worse"
    assert math.isclose(diffs["accuracy"].delta, -0.05)
    assert math.isclose(diffs["accuracy"].delta_pct, -100 * 0.05 / 0.95)
    assert diffs["log_loss"].change == "better"  # lower is better, and it fell
    assert diffs["log_loss"].higher_is_better is False
    assert diffs["roc_auc"].change == "unchanged"
    assert diffs["roc_auc"].delta == 0


def test_primary_metric_comes_first_and_is_marked():
    diffs = compare_metrics(
        {"metrics.json": {"accuracy": 0.9, "f1": 0.8, "roc_auc": 0.99}}, None, CONFIG
    )
    assert [d.name for d in diffs] == ["roc_auc", "accuracy", "f1"]
    assert [d.primary for d in diffs] == [True, False, False]


def test_new_and_removed_metrics():
    diffs = by_name(
        compare_metrics(
            {"metrics.json": {"accuracy": 0.9, "recall": 0.7}},
            {"metrics.json": {"accuracy": 0.9, "precision": 0.8}},
            CONFIG,
        )
    )
    assert diffs["recall"].change == "new"
    assert diffs["recall"].base is None and diffs["recall"].delta is None
    assert diffs["precision"].change == "removed"
    assert diffs["precision"].head is None and diffs["precision"].base == 0.8


def test_no_base_makes_every_metric_new():
    diffs = compare_metrics({"m.json": {"a": 1.0, "b": 2}}, None, MetricsConfig())
    assert {d.change for d in diffs} == {"new"}


def test_zero_base_has_no_percentage():
    (diff,) = compare_metrics({"m.json": {"a": 0.5}}, {"m.json": {"a": 0}}, MetricsConfig())
    assert diff.delta == 0.5 and diff.delta_pct is None and diff.change == "better"


def test_non_numeric_values_are_changed_or_unchanged_never_better():
    diffs = by_name(
        compare_metrics(
            {"m.json": {"label": "b", "flag": True, "same": "x"}},
            {"m.json": {"label": "a", "flag": False, "same": "x"}},
            MetricsConfig(),
        )
    )
    assert diffs["label"].change == "changed" and diffs["label"].delta is None
    assert diffs["flag"].change == "changed"  # a bool is not a number here
    assert diffs["same"].change == "unchanged"


def test_nan_travels_as_a_string_so_the_report_stays_json():
    (diff,) = compare_metrics(
        {"m.json": {"a": float("nan")}}, {"m.json": {"a": 0.5}}, MetricsConfig()
    )
    assert diff.head == "nan" and diff.change == "changed"


def test_direction_can_be_set_per_file():
    config = MetricsConfig(higher_is_better={"eval.json:loss": False})
    diffs = compare_metrics(
        {"eval.json": {"loss": 0.1}, "train.json": {"loss": 0.1}},
        {"eval.json": {"loss": 0.2}, "train.json": {"loss": 0.2}},
        config,
    )
    assert [(d.file, d.change) for d in diffs] == [("eval.json", "better"), ("train.json", "worse")]


def test_params_added_removed_modified():
    diffs = compare_params(
        {"params.yaml": {"train.C": 0.01, "train.seed": 1, "new": True}},
        {"params.yaml": {"train.C": 1.0, "train.seed": 1, "old": "x"}},
    )
    assert [(d.name, d.change, d.base, d.head) for d in diffs] == [
        ("train.C", "modified", 1.0, 0.01),
        ("new", "added", None, True),
        ("old", "removed", "x", None),
    ]


def test_params_without_base_report_no_change():
    assert compare_params({"params.yaml": {"a": 1}}, None) == []


def test_flat_params_prefix_only_files_other_than_params_yaml():
    assert flat_params({"params.yaml": {"a": 1}, "extra.yaml": {"b": 2}}) == {
        "a": 1,
        "extra.yaml:b": 2,
    }


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


@given(base=finite, head=finite, higher=st.booleans())
def test_change_agrees_with_the_sign_of_delta(base, head, higher):
    config = MetricsConfig(higher_is_better={"m": higher})
    (diff,) = compare_metrics({"f": {"m": head}}, {"f": {"m": base}}, config)
    assert diff.delta == head - base
    if head == base:
        assert diff.change == "unchanged"
    else:
        improved = (head > base) if higher else (head < base)
        assert diff.change == ("better" if improved else "worse")


def test_is_number():
    assert is_number(1) and is_number(0.5)
    assert not is_number(True) and not is_number("1") and not is_number(float("inf"))


# --- values that are not numbers a float holds ----------------------------------------------------


def test_is_number_refuses_what_no_float_holds():
    assert is_number(10**308) and is_number(-(10**308))
    assert not is_number(10**400) and not is_number(-(10**400))  # math.isfinite raised here
    assert not is_number(float("nan")) and not is_number(float("-inf"))


def test_huge_integers_travel_as_their_digits_and_have_no_delta():
    huge = 10**400
    diffs = by_name(
        compare_metrics(
            {"m.json": {"big": huge, "grew": huge, "n": 10**308}},
            {"m.json": {"big": huge, "grew": 1, "n": -(10**308)}},
            MetricsConfig(),
        )
    )
    assert diffs["big"].head == str(huge) and diffs["big"].change == "unchanged"
    assert diffs["grew"].head == str(huge) and diffs["grew"].base == 1
    assert diffs["grew"].delta is None and diffs["grew"].change == "changed"
    # 10**308 - (-10**308) is an integer no float holds: no delta, but still "better"
    assert diffs["n"].delta is None and diffs["n"].delta_pct is None
    assert diffs["n"].change == "better"


def test_nan_at_both_revisions_is_unchanged():
    (diff,) = compare_metrics(
        {"m.json": {"a": float("nan")}}, {"m.json": {"a": float("nan")}}, MetricsConfig()
    )
    assert (diff.base, diff.head, diff.change) == ("nan", "nan", "unchanged")
    assert compare_params({"p.yaml": {"x": float("nan")}}, {"p.yaml": {"x": float("nan")}}) == []


def test_every_yaml_value_becomes_json():
    assert json_safe(b"hello") == "!!binary aGVsbG8="
    assert json_safe({3, 1, 2}) == [1, 2, 3]
    assert json_safe(10**400) == str(10**400)
    assert json_safe([float("inf"), {"k": b"\x00"}]) == ["inf", {"k": "!!binary AA=="}]
    json.dumps(json_safe({"a": complex(1, 2), "b": datetime.date(2024, 1, 2)}), allow_nan=False)


# --- end to end: the values come from metrics.json and params.yaml in a real project --------------


def test_a_metric_of_400_digits_is_reported_not_a_crash(project: Path):
    metrics = json.loads((project / "metrics.json").read_text())
    (project / "metrics.json").write_text(json.dumps({**metrics, "count": 10**400}))
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 0, result.stderr
    report = json.loads((project / ".mlops" / "report.json").read_text())
    (count,) = [m for m in report["metrics"] if m["name"] == "count"]
    assert count["head"] == str(10**400) and count["delta"] is None
    assert str(10**400) in (project / ".mlops" / "report.md").read_text()
    assert "1" + "0" * 400 in result.stdout
    # what run wrote, gate and card read back
    assert cli("gate", cwd=project).code == 0
    card = cli("card", "--output", "card.md", cwd=project)
    assert card.code == 0, card.stderr


def test_binary_params_are_shown_as_base64(project: Path):
    params = project / "params.yaml"
    params.write_text(params.read_text() + "extra:\n  blob: !!binary aGVsbG8=\n")
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 0, result.stderr
    report = json.loads((project / ".mlops" / "report.json").read_text())
    assert report["params_head"]["extra.blob"] == "!!binary aGVsbG8="
    assert [(p["name"], p["head"]) for p in report["params"]] == [
        ("extra.blob", "!!binary aGVsbG8=")
    ]
