"""The packaged schemas, and the Report validator that guards untrusted report artifacts."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conftest import cli, tree_state
from factories import (
    make_failing_report,
    make_first_run_report,
    make_hostile_report,
    make_metric,
    make_report,
)
from mlops_ci.errors import InputError
from mlops_ci.report import (
    SCHEMA_VERSION,
    CardInfo,
    ConfusionMatrix,
    DataVersion,
    EvaluationInfo,
    GateResult,
    HistoryPoint,
    Lineage,
    MetricDiff,
    ModelInfo,
    ParamDiff,
    PlotDiff,
    PlotSeries,
    RegistryInfo,
    RegistryState,
    Report,
    Revision,
    Verdict,
)
from mlops_ci.schemas import (
    CONFIG_SCHEMA,
    REPORT_SCHEMA,
    describe_value,
    format_path,
    load_schema,
    validate_report,
)

SOURCE = "report.json"


def build_report() -> Report:
    """A report built field by field, touching every dataclass and every nullable field."""
    return Report(
        title="Model report",
        digits=4,
        model=ModelInfo(name="clf", path="models/model.pkl", task="regression", library="xgboost"),
        primary_metric="rmse",
        base=Revision(rev=None, description="no commit yet: every metric is new"),
        head=Revision(
            rev="0123456789abcdef0123456789abcdef01234567", ref="feature/x",
            description="workspace (uncommitted results)", dirty=True,
        ),
        metrics=[
            MetricDiff("rmse", "metrics.json", 1.5, 1.25, -0.25, -16.666666666666664, False,
                       "better", primary=True),
            MetricDiff("model", "metrics.json", "ridge", "lasso", None, None, True, "changed"),
            MetricDiff("converged", "metrics.json", None, True, None, None, True, "new"),
            MetricDiff("confusion", "eval/metrics.json", [[5, 1], [0, 4]], None, None, None, True,
                       "removed"),
        ],
        params=[
            ParamDiff("train.alpha", "params.yaml", 0.1, 0.2, "modified"),
            ParamDiff("train.layers", "params.yaml", None, [64, 32], "added"),
        ],
        params_head={"train.alpha": 0.2, "train.layers": [64, 32], "cfg.yaml:opt": {"lr": 1e-3}},
        gates=[
            GateResult(
                metric="rmse", rule="max_increase", threshold=5.0, threshold_text="5%",
                relative=True, severity="error", verdict="new", base=None, head=1.25, limit=None,
                explanation="rmse has no base value to compare with (new metric).",
                gate_index=0, line=None,
            ),
            GateResult(
                metric="rmse", rule="max", threshold=2, threshold_text="2", relative=False,
                severity="warning", verdict="pass", base=None, head=1.25, limit=2.0,
                explanation="rmse is 1.2500; it must be at most 2.", gate_index=1, line=14,
            ),
        ],
        lineage=Lineage(
            stages=["train"],
            data=[DataVersion("data", "8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f.dir", 1024, 3, "train")],
            code=[DataVersion("train.py", None)],
            model=DataVersion("models/model.pkl", "b1c2d3e4f5a60718293a4b5c6d7e8f90", 99, None,
                              "train"),
            base_model=None,
        ),
        verdict=Verdict(status="pass", failed=0, warnings=0, summary="All 2 gate rules passed."),
        card=CardInfo(description="Predicts prices.", owners=["@team"], language=["en", "fr"]),
        created_at="2024-05-01T12:00:00+00:00",
        tool_version="0.1.0",
    )


def as_json(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report.to_json())
    return data


# --- the schemas themselves -----------------------------------------------------------------


@pytest.mark.parametrize("name", [CONFIG_SCHEMA, REPORT_SCHEMA])
def test_packaged_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_load_schema_returns_a_fresh_copy() -> None:
    first = load_schema(REPORT_SCHEMA)
    first["properties"].clear()
    assert load_schema(REPORT_SCHEMA)["properties"]


def _objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    if schema.get("type") == "object" or "properties" in schema:
        found.append(schema)
    for value in schema.values():
        if isinstance(value, dict):
            found += _objects(value)
        elif isinstance(value, list):
            found += [o for item in value if isinstance(item, dict) for o in _objects(item)]
    return found


@pytest.mark.parametrize("name", [CONFIG_SCHEMA, REPORT_SCHEMA])
def test_every_defined_object_refuses_unknown_keys(name: str) -> None:
    objects = [o for o in _objects(load_schema(name)) if "properties" in o]
    assert objects
    assert all(o.get("additionalProperties") is False for o in objects)


# Each object of the report schema, and the dataclass it describes.
REPORT_OBJECTS: list[tuple[Callable[[dict[str, Any]], dict[str, Any]], type]] = [
    (lambda s: s, Report),
    (lambda s: s["properties"]["model"], ModelInfo),
    (lambda s: s["$defs"]["revision"], Revision),
    (lambda s: s["$defs"]["metricDiff"], MetricDiff),
    (lambda s: s["$defs"]["paramDiff"], ParamDiff),
    (lambda s: s["$defs"]["gateResult"], GateResult),
    (lambda s: s["$defs"]["lineage"], Lineage),
    (lambda s: s["$defs"]["dataVersion"], DataVersion),
    (lambda s: s["$defs"]["verdict"], Verdict),
    (lambda s: s["$defs"]["card"], CardInfo),
    (lambda s: s["$defs"]["registry"], RegistryInfo),
    (lambda s: s["$defs"]["registryState"], RegistryState),
    (lambda s: s["$defs"]["plotDiff"], PlotDiff),
    (lambda s: s["$defs"]["plotSeries"], PlotSeries),
    (lambda s: s["$defs"]["confusionMatrixOrNull"]["anyOf"][0], ConfusionMatrix),
    (lambda s: s["$defs"]["evaluation"], EvaluationInfo),
    (lambda s: s["$defs"]["historyPoint"], HistoryPoint),
]


# Fields added after schema 1.0: optional, so that reports written before them still load.
OPTIONAL_FIELDS = {
    "base_lock_error", "base_note", "next_base_note", "registry", "plots", "plots_omitted",
    "head_interval", "base_interval", "evaluation", "history",  # 1.2
}
OPTIONAL_BY_CLASS = {
    "Lineage": {"evaluation_data", "evaluation_outputs", "model_stage"},
    "GateResult": {  # 1.2
        "test", "alpha", "slice", "p_value", "difference", "significance", "evidence_note"
    },
    "EvaluationInfo": {"note", "confusion"},
}


@pytest.mark.parametrize(
    ("pick", "cls"), REPORT_OBJECTS, ids=[cls.__name__ for _, cls in REPORT_OBJECTS]
)
def test_report_schema_matches_the_dataclasses(
    pick: Callable[[dict[str, Any]], dict[str, Any]], cls: type
) -> None:
    schema = pick(load_schema(REPORT_SCHEMA))
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(schema["properties"]) == fields
    # to_dict() always writes every field
    optional = OPTIONAL_FIELDS | OPTIONAL_BY_CLASS.get(cls.__name__, set())
    assert set(schema["required"]) == fields - optional


# --- valid reports --------------------------------------------------------------------------


def test_a_built_report_round_trips_and_validates() -> None:
    report = build_report()
    data = as_json(report)
    validate_report(data, source=SOURCE)
    assert next(iter(data)) == "schema_version"
    assert data["schema_version"] == SCHEMA_VERSION
    assert Report.from_dict(data) == report
    assert Report.from_dict(data).to_json() == report.to_json()


@pytest.mark.parametrize(
    "make", [make_report, make_failing_report, make_first_run_report, make_hostile_report]
)
def test_the_test_factories_make_valid_reports(make: Callable[[], Report]) -> None:
    validate_report(as_json(make()), source=SOURCE)


def test_an_older_minor_version_is_accepted() -> None:
    data = as_json(build_report())
    data["schema_version"] = "1.0"
    validate_report(data, source=SOURCE)


def test_a_newer_minor_version_is_refused_not_half_read() -> None:
    data = as_json(build_report())
    data["schema_version"] = "1.7"
    with pytest.raises(InputError) as caught:
        validate_report(data, source=SOURCE)
    assert str(caught.value) == (
        f"{SOURCE}: not a mlops-ci report: schema_version '1.7' is newer than this mlops-ci "
        f"reads (up to {SCHEMA_VERSION}). Read it with the mlops-ci version that wrote it, or a "
        "newer one."
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**63) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=50, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=50), max_size=5),
    base=json_values,
    head=json_values,
)
def test_any_metric_names_and_values_validate(names: list[str], base: Any, head: Any) -> None:
    metrics = [MetricDiff(n, "m.json", base, head, None, None, True, "changed") for n in names]
    report = dataclasses.replace(build_report(), metrics=metrics, params_head={"p": head})
    data = as_json(report)
    validate_report(data, source=SOURCE)
    assert Report.from_dict(data) == report


# --- tampered reports -------------------------------------------------------------------------


def tamper(change: Callable[[dict[str, Any]], object]) -> str:
    data = copy.deepcopy(as_json(build_report()))
    change(data)
    with pytest.raises(InputError) as info:
        validate_report(data, source=SOURCE)
    return str(info.value)


PREFIX = "report.json: not a mlops-ci report: "

TAMPERED: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "unsupported major": (
        lambda d: d.update(schema_version="2.0"),
        "schema_version '2.0' is not supported; this mlops-ci reads 1.x reports, so use the "
        "mlops-ci version that wrote it.",
    ),
    "version as a number": (
        lambda d: d.update(schema_version=1.0),
        'schema_version must be a version like "1.0", not 1.0.',
    ),
    "version that is not one": (
        lambda d: d.update(schema_version="1.0-beta"),
        "schema_version must be a version like \"1.0\", not '1.0-beta'.",
    ),
    "digits not an integer": (
        lambda d: d.update(digits=2.5),
        "digits must be a whole number from 0 to 12, not 2.5.",
    ),
    "digits a float that is whole": (
        lambda d: d.update(digits=4.0),
        "digits must be a whole number from 0 to 12, not 4.0.",
    ),
    "digits a string": (
        lambda d: d.update(digits="4"),
        "digits must be a whole number from 0 to 12, not '4'.",
    ),
    "extra key at the top": (
        lambda d: d.update(comment="hi"),
        "the top level has an unexpected key 'comment'.",
    ),
    "extra key inside": (
        lambda d: d["gates"][1].update(html="<script>"),
        "gates[1] has an unexpected key 'html'.",
    ),
    "missing key": (
        lambda d: d["verdict"].pop("summary"),
        "verdict.summary is missing.",
    ),
    "wrong type": (
        lambda d: d["verdict"].update(failed="0"),
        "verdict.failed must be a whole number, not '0'.",
    ),
    "boolean for an integer": (
        lambda d: d["gates"][1].update(gate_index=True),
        "gates[1].gate_index must be a whole number, not true.",
    ),
    "bad enum": (
        lambda d: d["verdict"].update(status="ok"),
        "verdict.status must be one of pass, fail, not 'ok'.",
    ),
    "revision that is not a SHA": (
        lambda d: d["head"].update(rev="main`; echo"),
        "head.rev must be a git commit SHA or null, not 'main`; echo'.",
    ),
    "metric name too long": (
        lambda d: d["metrics"][0].update(name="x" * 501),
        "metrics[0].name is too long (501 characters; at most 500).",
    ),
    "explanation too long": (
        lambda d: d["gates"][0].update(explanation="x" * 10_001),
        "gates[0].explanation is too long (10001 characters; at most 10000).",
    ),
    "not a finite number": (
        lambda d: d["metrics"][0].update(head=float("nan")),
        "metrics[0].head must be a finite number, not nan.",
    ),
    "nullable object of the wrong type": (
        lambda d: d["lineage"].update(base_model=[]),
        "lineage.base_model must be a mapping or null, not a list.",
    ),
    "inside a nullable object": (
        lambda d: d["lineage"]["model"].update(size=-1),
        "lineage.model.size must be at least 0, not -1.",
    ),
    "list of the wrong items": (
        lambda d: d["card"].update(owners=["@team", 7]),
        "card.owners[1] must be a string, not 7.",
    ),
    "odd key in params_head": (
        lambda d: d["params_head"].update({"x" * 1501: 1}),
        "params_head has a key that is too long (at most 1500 characters).",
    ),
    "created_at not a time": (
        lambda d: d.update(created_at="yesterday"),
        "created_at must be an ISO 8601 time like \"2024-05-01T12:00:00+00:00\", not "
        "'yesterday'.",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_reports_are_rejected(case: str) -> None:
    change, expected = TAMPERED[case]
    assert tamper(change) == PREFIX + expected


@pytest.mark.parametrize("data", [[], "report", None, 3])
def test_a_document_that_is_not_an_object(data: object) -> None:
    with pytest.raises(InputError) as info:
        validate_report(data, source="artifact/report.json")
    assert str(info.value) == (
        "artifact/report.json: not a mlops-ci report: the document must be a JSON object, "
        f"not {describe_value(data)}."
    )


def test_a_deeply_nested_value_is_rejected_without_a_traceback() -> None:
    data = as_json(build_report())
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    data["params_head"]["deep"] = deep
    with pytest.raises(InputError, match="nested too deeply"):
        validate_report(data, source=SOURCE)


# --- the helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("gates", 1, "max_drop"), "gates[1].max_drop"),
        (("metrics", "higher_is_better", "test.f1"), 'metrics.higher_is_better["test.f1"]'),
        ((3,), "[3]"),
        ((), ""),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_a_gate_verdict_outside_pass_fail_new_is_rejected() -> None:
    data = as_json(build_report())
    data["gates"][0]["verdict"] = "missing"
    with pytest.raises(InputError, match="verdict"):
        validate_report(data, source=SOURCE)


# --- beyond JSON Schema: text UTF-8 can write, numbers a float holds ----------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["metrics"][0].update(name="\ud800"), "metrics[0].name holds '\\ud800'"),
        (lambda d: d["params_head"].update({"\udc80": 1}), "params_head[\"\\udc80\"] holds"),
        (lambda d: d["metrics"][0].update(head=10**400), "metrics[0].head must be a number a "
                                                        "float can hold"),
    ],
    ids=["surrogate value", "surrogate key", "huge integer"],
)
def test_reports_that_readers_would_read_differently_are_rejected(
    change: Callable[[dict[str, Any]], object], expected: str
) -> None:
    assert tamper(change).startswith(PREFIX + expected)


# --- one set of limits, enforced when writing -----------------------------------------------------


def test_a_report_over_the_limits_is_refused_when_written() -> None:
    report = make_report(metrics=[make_metric(f"m{i}", 0.5, 0.6) for i in range(10_001)])
    with pytest.raises(InputError) as info:
        report.to_json()
    assert str(info.value) == (
        "metrics.json holds 10001 metrics, more than the 10000 a report can hold. Write fewer, "
        "or choose the files with metrics.files in mlops.yaml; nothing was written."
    )
    long_name = make_report(metrics=[make_metric("x" * 501, file="eval/scores.json")])
    with pytest.raises(InputError) as info:
        long_name.to_json()
    assert str(info.value) == (
        f"eval/scores.json: the metric '{'x' * 57}...' cannot go into the report: "
        "metrics[0].name is too long (501 characters; at most 500). Change the stage that "
        "writes it; nothing was written."
    )


def write_metrics(project: Path, metrics: dict[str, float]) -> None:
    gated = {  # the metrics of the base, so none is "removed"
        "accuracy": 0.98, "roc_auc": 0.99, "f1": 0.97, "precision": 0.97, "recall": 0.97,
        "log_loss": 0.07,
    }
    (project / "metrics.json").write_text(json.dumps({**gated, **metrics}), encoding="utf-8")


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        (
            {f"m{i}": 0.5 for i in range(10_001 - 6)},
            "mlops-ci: error: metrics.json holds 10001 metrics, more than the 10000 a report can",
        ),
        (
            {"x" * 501: 0.5},
            "mlops-ci: error: metrics.json: the metric 'xxxx",
        ),
    ],
    ids=["10,001 metrics", "501-character name"],
)
def test_run_refuses_a_report_that_gate_card_and_comment_would_refuse(
    project: Path, metrics: dict[str, float], expected: str
) -> None:
    write_metrics(project, metrics)
    before = tree_state(project)
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 2, result.stderr[-2000:]
    assert result.stderr.startswith(expected) and "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_state(project) == before and not (project / ".mlops").exists()
    assert cli("diff", "--format", "json", cwd=project).code == 2
