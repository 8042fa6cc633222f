"""mlops.yaml: the documented examples, the resolved objects, and every kind of error message."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import cli, tree_state
from mlops_ci import config_yaml
from mlops_ci.config import CONFIG_FILENAME, Config, GateRule, load_config
from mlops_ci.errors import ConfigError
from mlops_ci.report import CardInfo
from mlops_ci.schemas import CONFIG_SCHEMA, load_schema

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "templates" / "project" / "mlops.yaml"
MODEL = "model: {name: clf, path: model.pkl}\n"

# What jsonschema says on its own; none of it may reach a user.
RAW_JSONSCHEMA = (
    "is not of type",
    "is a required property",
    "Additional properties",
    "does not match",
    "is not valid under any",
    "is not one of",
    "Failed validating",
    "Traceback",
)


def write(directory: Path, text: str) -> Path:
    path = directory / CONFIG_FILENAME
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    for raw in RAW_JSONSCHEMA:
        assert raw not in message, message
    return message


def doc_example(heading: str) -> str:
    """The first ```yaml block after *heading* in docs/configuration.md."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, f"no yaml block under '## {heading}'"
    return match.group(1)


# --- the documented examples ----------------------------------------------------------------


def test_documented_full_example_loads(tmp_path: Path) -> None:
    (tmp_path / ".mlops" / "templates").mkdir(parents=True)
    config = load_text(tmp_path, doc_example("Full example"))

    assert config.model.name == "breast-cancer-classifier"
    assert config.metrics.files == ("metrics.json",)
    assert config.metrics.primary == "roc_auc"
    assert config.metrics.higher_is_better == {"log_loss": False}
    assert not config.metrics.is_higher_better("log_loss")
    assert config.metrics.is_higher_better("accuracy")
    assert [g.metric for g in config.gates] == ["roc_auc", "accuracy", "f1", "log_loss"]
    assert config.gates[0].rules == (GateRule("min", 0.95, "0.95", relative=False),)
    assert config.gates[2].rules == (GateRule("max_drop", 2.0, "2%", relative=True),)
    assert config.gates[2].severity == "warning"
    assert [r.rule for r in config.gates[3].rules] == ["max_increase", "max"]
    assert config.card.owners == ["alice", "@ml-team"]
    assert config.card.license == "mit"
    assert config.card.language == ["en"]
    assert config.card.description.startswith("A logistic regression")
    assert config.report.template_dir == ".mlops/templates"
    assert config.comment.mode == "update"


def test_documented_full_example_gate_lines_point_at_the_gates(tmp_path: Path) -> None:
    (tmp_path / ".mlops" / "templates").mkdir(parents=True)
    text = doc_example("Full example")
    config = load_text(tmp_path, text)
    lines = text.splitlines()
    for gate in config.gates:
        assert gate.line is not None
        assert lines[gate.line - 1].strip() == f"- metric: {gate.metric}"


def test_documented_minimal_example_takes_the_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, doc_example("Minimal example"))

    assert config.path == tmp_path / CONFIG_FILENAME
    assert config.root == tmp_path
    assert config.model.task == "binary-classification"
    assert config.model.library == "sklearn"
    assert config.metrics.files == ()
    assert config.metrics.primary is None
    assert config.gates == ()
    assert config.card == CardInfo()
    assert config.report.title == "Model report"
    assert config.report.digits == 4
    assert config.report.template_dir is None
    assert config.user_template_dir is None
    assert config.comment.mode == "update"
    assert config.comment.key == "default"


def schema_keys(schema: dict[str, Any], root: dict[str, Any], prefix: str = "") -> list[str]:
    """Every documented key of the schema, as docs/configuration.md writes it: `gates[].min`."""
    keys = []
    for name, sub in schema.get("properties", {}).items():
        full = f"{prefix}{name}"
        keys.append(full)
        items = sub.get("items", {})
        if "$ref" in items:
            target = root["$defs"][items["$ref"].rsplit("/", 1)[1]]
            keys += schema_keys(target, root, f"{full}[].")
        keys += schema_keys(sub, root, f"{full}.")
    return keys


def test_every_key_of_the_schema_is_documented() -> None:
    schema = load_schema(CONFIG_SCHEMA)
    text = DOCS.read_text(encoding="utf-8")
    keys = schema_keys(schema, schema)
    assert "gates[].max_increase" in keys and "card.language" in keys  # the walk reaches both
    missing = [key for key in keys if f"`{key}`" not in text]
    assert not missing


def test_the_example_project_configuration_loads() -> None:
    config = load_config(EXAMPLE_PROJECT)
    assert config.gates and config.model.path


def test_a_directory_means_its_mlops_yaml(tmp_path: Path) -> None:
    write(tmp_path, MODEL)
    assert load_config(tmp_path).path == tmp_path / CONFIG_FILENAME


# --- resolving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value", "text"),
    [
        ("2%", 2.0, "2%"),
        ("2.5 %", 2.5, "2.5 %"),
        ("0%", 0.0, "0%"),
        ('"  10 %"', 10.0, "10 %"),
        (".5%", 0.5, ".5%"),
        ("100%", 100.0, "100%"),
    ],
)
def test_percentages_are_relative(tmp_path: Path, written: str, value: float, text: str) -> None:
    config = load_text(tmp_path, MODEL + f"gates:\n  - metric: f1\n    max_drop: {written}\n")
    assert config.gates[0].rules == (GateRule("max_drop", value, text, relative=True),)


@pytest.mark.parametrize(
    ("written", "value", "text"),
    [("0.01", 0.01, "0.01"), ("0", 0.0, "0"), ("1e-3", 0.001, "0.001")],
)
def test_amounts_are_absolute(tmp_path: Path, written: str, value: float, text: str) -> None:
    config = load_text(tmp_path, MODEL + f"gates:\n  - metric: f1\n    max_increase: {written}\n")
    assert config.gates[0].rules == (GateRule("max_increase", value, text, relative=False),)


def test_gate_lines_and_indexes_in_block_and_flow_style(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        MODEL
        + "gates:\n"
        + "  - metric: a\n    min: 0.5\n"
        + "  - {metric: b, max: 3, severity: warning}\n"
        + "  -\n    metric: c\n    max_drop: 1%\n",
    )
    assert [(g.metric, g.index, g.line) for g in config.gates] == [
        ("a", 0, 3), ("b", 1, 5), ("c", 2, 7)
    ]
    assert config.gates[1].severity == "warning"
    assert config.gates[0].severity == "error"


def test_empty_sections_mean_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, MODEL + "metrics:\ngates:\ncard:\nreport:\ncomment:\n")
    assert config.gates == ()
    assert config.card == CardInfo()
    assert config.report.digits == 4


def test_single_strings_become_lists(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        MODEL + "metrics: {files: eval/metrics.json}\n"
        "card: {owners: alice, tags: tabular, language: en, datasets: [a, b]}\n",
    )
    assert config.metrics.files == ("eval/metrics.json",)
    assert config.card.owners == ["alice"]
    assert config.card.tags == ["tabular"]
    assert config.card.language == ["en"]
    assert config.card.datasets == ["a", "b"]


def test_yaml_1_2_keeps_off_as_text(tmp_path: Path) -> None:
    config = load_text(tmp_path, MODEL + "comment: {mode: off, key: model-a.v2_x}\n")
    assert config.comment.mode == "off"
    assert config.comment.key == "model-a.v2_x"


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        MODEL
        + "gates:\n"
        + "  - &floor {metric: a, min: 0.5, severity: warning}\n"
        + "  - <<: *floor\n    metric: b\n",
    )
    assert [(g.metric, g.rules, g.severity, g.line) for g in config.gates] == [
        ("a", (GateRule("min", 0.5, "0.5", relative=False),), "warning", 3),
        ("b", (GateRule("min", 0.5, "0.5", relative=False),), "warning", 4),
    ]


def test_the_resolved_objects_are_plain(tmp_path: Path) -> None:
    config = load_text(
        tmp_path, MODEL + "metrics:\n  higher_is_better: {log_loss: false, 'test.f1': true}\n"
    )
    assert type(config.metrics.higher_is_better) is dict
    assert config.metrics.higher_is_better == {"log_loss": False, "test.f1": True}
    assert type(config.report.digits) is int


# --- errors ----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / CONFIG_FILENAME)
    assert str(info.value) == (
        f"No mlops.yaml in {tmp_path.resolve()}. Run `mlops-ci init` to scaffold a project, "
        "or write one (see docs/configuration.md)."
    )


@pytest.mark.parametrize("text", ["", "\n", "# nothing yet\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    message = config_error(tmp_path, text)
    assert message.startswith("mlops.yaml: model.name is required: name the model in ")
    assert "artifact of `type: model`" in message


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILENAME).write_bytes(b"model:\n  name: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / CONFIG_FILENAME)
    assert str(info.value) == (
        "mlops.yaml, line 2: the file is not UTF-8 text (byte 18); save it with UTF-8 encoding."
    )


# (file text, expected message) — the whole message, so wording, line and key path are all
# checked. Lines are 1-based lines of the text.
ERRORS: dict[str, tuple[str, str]] = {
    "unknown top-level key": (
        MODEL + "gate:\n  - metric: a\n    min: 1\n",
        "mlops.yaml, line 2: unknown key 'gate' at the top level; did you mean 'gates'?",
    ),
    "typo in a required section": (
        "modle:\n  name: a\n  path: m.pkl\n",
        "mlops.yaml, line 1: unknown key 'modle' at the top level; did you mean 'model'?",
    ),
    "unknown key in model": (
        "model:\n  name: a\n  path: m.pkl\n  libary: sklearn\n",
        "mlops.yaml, line 4: unknown key 'libary' in model; did you mean 'library'?",
    ),
    "unknown key in metrics": (
        MODEL + "metrics:\n  primry: auc\n",
        "mlops.yaml, line 3: unknown key 'primry' in metrics; did you mean 'primary'?",
    ),
    "unknown key in card": (
        MODEL + "card:\n  licence: mit\n",
        "mlops.yaml, line 3: unknown key 'licence' in card; did you mean 'license'?",
    ),
    "unknown key in report": (
        MODEL + "report:\n  digit: 3\n",
        "mlops.yaml, line 3: unknown key 'digit' in report; did you mean 'digits'?",
    ),
    "unknown key in comment": (
        MODEL + "comment:\n  modes: new\n",
        "mlops.yaml, line 3: unknown key 'modes' in comment; did you mean 'mode'?",
    ),
    "unknown key in a gate, before its missing rule": (
        MODEL + "gates:\n  - metric: a\n    mni: 0.3\n",
        "mlops.yaml, line 4: unknown key 'mni' in gates[0]; did you mean 'min'?",
    ),
    "unknown key with no close match": (
        MODEL + "gates:\n  - metric: a\n    min: 1\n    threshold: 3\n",
        "mlops.yaml, line 5: unknown key 'threshold' in gates[0]. "
        "Valid keys: metric, min, max, max_drop, max_increase, severity, test, alpha, slice.",
    ),
    "a section's key at the top level": (
        MODEL + "primary: auc\n",
        "mlops.yaml, line 2: unknown key 'primary' at the top level; it belongs under "
        "'metrics', as metrics.primary.",
    ),
    "missing model.path": (
        "version: 1\nmodel:\n  name: a\n",
        "mlops.yaml, line 2: model.path is required: name the model in mlops.yaml (`model: "
        "{name: churn, path: models/model.pkl}`), or declare it in dvc.yaml as an artifact of "
        "`type: model` (`artifacts: {churn: {path: models/model.pkl, type: model}}`).",
    ),
    "missing model": (
        "gates: []\n",
        "mlops.yaml: model.name is required: name the model in mlops.yaml (`model: "
        "{name: churn, path: models/model.pkl}`), or declare it in dvc.yaml as an artifact of "
        "`type: model` (`artifacts: {churn: {path: models/model.pkl, type: model}}`).",
    ),
    "missing gate metric": (
        MODEL + "gates:\n  - min: 1\n",
        "mlops.yaml, line 3: gates[0].metric is required: the metric the gate checks, as named "
        "in the metrics file (nested keys joined with dots, e.g. test.f1).",
    ),
    "bad max_drop": (
        MODEL + "gates:\n  - metric: a\n    min: 0.9\n  - metric: b\n    max_drop: abc\n",
        "mlops.yaml, line 6: gates[1].max_drop must be a number >= 0 or a percentage like "
        "\"2%\", not 'abc'. `max_drop`: how far head may fall below base: an amount in the "
        "metric's units, or a percentage of base.",
    ),
    "negative max_drop": (
        MODEL + "gates:\n  - metric: a\n    max_drop: -0.01\n",
        "mlops.yaml, line 4: gates[0].max_drop must be a number >= 0 or a percentage like "
        "\"2%\", not -0.01. `max_drop`: how far head may fall below base: an amount in the "
        "metric's units, or a percentage of base.",
    ),
    "negative percentage": (
        MODEL + "gates:\n  - metric: a\n    max_increase: -2%\n",
        "mlops.yaml, line 4: gates[0].max_increase must be a number >= 0 or a percentage like "
        "\"2%\", not '-2%'. `max_increase`: how far head may rise above base: an amount in the "
        "metric's units, or a percentage of base.",
    ),
    "percentage on an absolute rule": (
        MODEL + "gates:\n  - metric: a\n    min: 90%\n",
        "mlops.yaml, line 4: gates[0].min must be a number, not '90%'. `min`: the lowest value "
        "head may have, a number (percentages are for max_drop and max_increase, which compare "
        "with base).",
    ),
    "boolean threshold": (
        MODEL + "gates:\n  - metric: a\n    max: true\n",
        "mlops.yaml, line 4: gates[0].max must be a number, not true. `max`: the highest value "
        "head may have, a number (percentages are for max_drop and max_increase, which compare "
        "with base).",
    ),
    "gate without a rule": (
        MODEL + "gates:\n  - metric: a\n    min: 1\n  - metric: f1\n    severity: warning\n",
        "mlops.yaml, line 5: gates[1] (metric 'f1') has no rule; add at least one of min, max, "
        "max_drop, max_increase, e.g. `min: 0.9` or `max_drop: 2%`.",
    ),
    "bad severity": (
        MODEL + "gates:\n  - metric: a\n    min: 1\n    severity: warn\n",
        "mlops.yaml, line 5: gates[0].severity must be one of error, warning, not 'warn'; "
        "did you mean 'warning'?",
    ),
    "bad task": (
        "model:\n  name: a\n  path: m.pkl\n  task: regresion\n",
        "mlops.yaml, line 4: model.task must be binary-classification, "
        "multiclass-classification, regression, or a Hugging Face pipeline tag such as "
        "text-classification or tabular-regression (docs/configuration.md lists them), not "
        "'regresion'; did you mean 'regression'?",
    ),
    "bad comment mode, no close match": (
        MODEL + "comment:\n  mode: false\n",
        "mlops.yaml, line 3: comment.mode must be one of update, new, off, not false.",
    ),
    "digits out of range": (
        MODEL + "report:\n  digits: 13\n",
        "mlops.yaml, line 3: report.digits must be a whole number from 0 to 12, not 13.",
    ),
    "digits not whole": (
        MODEL + "report:\n  digits: 2.5\n",
        "mlops.yaml, line 3: report.digits must be a whole number from 0 to 12, not 2.5. "
        "`digits`: the number of decimals shown for metric values.",
    ),
    "version": (
        "version: 2\n" + MODEL,
        "mlops.yaml, line 1: version must be 1 (the only version of this format), not 2.",
    ),
    "wrong type of section": (
        MODEL + "gates:\n  metric: a\n",
        "mlops.yaml, line 2: gates must be a list of gates, not a mapping. `gates`: the checks "
        "a pull request must pass, each a metric and at least one rule.",
    ),
    "empty model": (
        "model:\n",
        "mlops.yaml, line 1: model must be a mapping, not an empty value. `model`: the model's "
        "name and path, e.g. `model: {name: my-model, path: model.pkl}`; both may be left "
        "out when dvc.yaml declares one artifact of `type: model`.",
    ),
    "number for a string": (
        "model:\n  name: 42\n  path: m.pkl\n",
        "mlops.yaml, line 2: model.name must be a string, not 42; quote it to make it text.",
    ),
    "date for a string": (
        MODEL + "card:\n  description: 2024-01-01\n",
        "mlops.yaml, line 3: card.description must be a string, not the date 2024-01-01; "
        "quote it to make it text.",
    ),
    "empty string": (
        "model: {name: '', path: m.pkl}\n",
        "mlops.yaml, line 1: model.name must not be empty.",
    ),
    "a list item of the wrong type": (
        MODEL + "card:\n  owners: [alice, 3]\n",
        "mlops.yaml, line 3: card.owners[1] must be a string, not 3; quote it to make it text.",
    ),
    "higher_is_better not a boolean": (
        MODEL + "metrics:\n  higher_is_better:\n    test.loss: nope\n",
        'mlops.yaml, line 4: metrics.higher_is_better["test.loss"] must be true or false, '
        "not 'nope'.",
    ),
    "empty metric name": (
        MODEL + "metrics:\n  higher_is_better:\n    '': false\n",
        "mlops.yaml, line 3: metrics.higher_is_better has a key that must not be empty.",
    ),
    "comment key pattern": (
        MODEL + "comment:\n  key: my key\n",
        "mlops.yaml, line 3: comment.key must be letters, digits, '.', '_' and '-' only, not "
        "'my key'. `key`: a name that tells apart the sticky comments of several workflows on "
        "one pull request, e.g. one per model.",
    ),
    "top level is a list": (
        "- model\n- gates\n",
        "mlops.yaml: the top level must be a mapping of keys such as `model:` and `gates:`, "
        "not a list.",
    ),
    "top level is a string": (
        "model.pkl\n",
        "mlops.yaml: the top level must be a mapping of keys such as `model:` and `gates:`, "
        "not 'model.pkl'.",
    ),
    "key that is not a name": (
        MODEL + "true: 1\n",
        "mlops.yaml, line 2: the key true at the top level is not a name; quote it.",
    ),
    "min above max": (
        MODEL + "gates:\n  - metric: a\n    min: 0.9\n    max: 0.8\n",
        "mlops.yaml, line 3: gates[0] has min 0.9 above max 0.8, so no value can pass; fix one "
        "of them.",
    ),
    "absolute model path": (
        "model: {name: a, path: /srv/model.pkl}\n",
        "mlops.yaml, line 1: model.path must be a path relative to the repository root, not "
        "'/srv/model.pkl'.",
    ),
    "metrics file outside the repository": (
        MODEL + "metrics:\n  files: [metrics.json, ../other/metrics.json]\n",
        "mlops.yaml, line 3: metrics.files[1] must be a path relative to the repository root, "
        "not '../other/metrics.json'.",
    ),
    "single metrics file outside the repository": (
        MODEL + "metrics:\n  files: ../metrics.json\n",
        "mlops.yaml, line 3: metrics.files must be a path relative to the repository root, "
        "not '../metrics.json'.",
    ),
    "template directory that does not exist": (
        MODEL + "report:\n  template_dir: .mlops/templates\n",
        "mlops.yaml, line 3: report.template_dir '.mlops/templates' is not a directory in the "
        "repository. Create it and put your templates there, or remove the key.",
    ),
    "YAML syntax": (
        "model:\n  name: a\n  path: b: c\n",
        "mlops.yaml, line 3, column 10: YAML syntax error: mapping values are not allowed here. "
        "Fix the indentation or quote the value.",
    ),
    "unclosed flow list": (
        MODEL + "metrics:\n  files: [a.json, b.json\n",
        "mlops.yaml, line 4, column 1: YAML syntax error: expected ',' or ']', but got "
        "'<stream end>'. Fix the indentation or quote the value.",
    ),
    "tab indentation": (
        "model:\n\tname: a\n",
        "mlops.yaml, line 2, column 1: YAML syntax error: a tab character. Indent with spaces, "
        "not tabs.",
    ),
    "duplicate key": (
        "model:\n  name: a\n  path: m.pkl\n  name: b\n",
        "mlops.yaml, line 4, column 3: the key 'name' appears twice in one mapping; keep one.",
    ),
    "control character": (
        MODEL + 'card: {description: "a\x07b"}\n',
        "mlops.yaml, line 2, column 23: the control character U+0007 is not allowed in YAML; "
        "delete it.",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_error_messages(tmp_path: Path, case: str) -> None:
    text, expected = ERRORS[case]
    assert config_error(tmp_path, text) == expected


def test_the_first_error_in_reading_order_is_reported(tmp_path: Path) -> None:
    text = MODEL + "report:\n  digits: 20\ncomment:\n  mode: sometimes\n"
    assert config_error(tmp_path, text).startswith("mlops.yaml, line 3: report.digits")
    text = MODEL + "comment:\n  mode: sometimes\nreport:\n  digits: 20\n"
    assert config_error(tmp_path, text).startswith("mlops.yaml, line 3: comment.mode")


def test_an_existing_template_directory_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    config = load_text(tmp_path, MODEL + "report: {template_dir: templates}\n")
    assert config.report.template_dir == "templates"
    assert config.user_template_dir == tmp_path / "templates"


def test_errors_name_the_file_as_given(tmp_path: Path) -> None:
    path = tmp_path / "ci.yaml"
    path.write_text("model: {name: a}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^ci\.yaml, line 1: model\.path is required"):
        load_config(path)


# --- property: any valid gates list resolves, in order, with its values --------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
amount_number = st.floats(min_value=0, allow_infinity=False, width=64) | st.integers(0, 10**6)
percent = st.builds(
    lambda whole, frac, space: f"{whole}{'.' + frac if frac else ''}{space}%",
    st.integers(0, 10_000),
    st.text("0123456789", max_size=4),
    st.sampled_from(["", " "]),
)
gate_strategy = st.fixed_dictionaries(
    {"metric": st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)},
    optional={
        "min": finite | st.integers(-(10**9), 10**9),
        "max": finite | st.integers(-(10**9), 10**9),
        "max_drop": amount_number | percent,
        "max_increase": amount_number | percent,
        "severity": st.sampled_from(["error", "warning"]),
    },
).filter(lambda g: any(rule in g for rule in ("min", "max", "max_drop", "max_increase")))


def _dump(document: object) -> str:
    import io

    from ruamel.yaml import YAML

    stream = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.sort_base_mapping_type_on_output = False  # keep the rules in the order generated
    # Block style: ruamel's parser refuses some plain scalars in flow style that its emitter
    # writes there (`{metric: ?0}`), which is a YAML library matter, not ours.
    yaml.default_flow_style = False
    yaml.dump(document, stream)
    return stream.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gates=st.lists(gate_strategy, max_size=6))
def test_any_valid_gates_list_resolves_in_order(gates: list[dict[str, Any]]) -> None:
    for gate in gates:
        assume(not ("min" in gate and "max" in gate and gate["min"] > gate["max"]))
    document = {"model": {"name": "clf", "path": "model.pkl"}, "gates": gates}
    with tempfile.TemporaryDirectory() as directory:
        config = load_text(Path(directory), _dump(document))

    assert [g.metric for g in config.gates] == [g["metric"] for g in gates]
    assert [g.index for g in config.gates] == list(range(len(gates)))
    lines = [g.line for g in config.gates]
    assert all(line is not None for line in lines) and lines == sorted(lines)
    for resolved, written in zip(config.gates, gates, strict=True):
        assert resolved.severity == written.get("severity", "error")
        expected_rules = [k for k in written if k in ("min", "max", "max_drop", "max_increase")]
        assert [r.rule for r in resolved.rules] == expected_rules
        for rule in resolved.rules:
            value = written[rule.rule]
            if isinstance(value, str):
                assert rule.relative
                assert rule.text == value.strip()
                assert rule.value == float(value.rstrip("% "))
            else:
                assert not rule.relative
                assert rule.value == float(value)


# --- hostile numbers and documents ------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (".nan", "gates[0].min is .nan, which is not a number a gate can compare with; write a "
                 "finite number such as 0.95."),
        (".inf", "gates[0].min is .inf, which is not a number a gate can compare with; write a "
                 "finite number such as 0.95."),
        ("-.inf", "gates[0].min is -.inf, which is not a number a gate can compare with; write "
                  "a finite number such as 0.95."),
        ("9" * 400, "gates[0].min is a number of 400 digits, larger than any float (about "
                    "1.8e+308); write the threshold you mean."),
    ],
    ids=["nan", "inf", "-inf", "400 digits"],
)
def test_thresholds_no_float_holds_are_config_errors(
    tmp_path: Path, written: str, expected: str
) -> None:
    text = MODEL + f"gates:\n  - metric: a\n    min: {written}\n"
    assert config_error(tmp_path, text) == f"mlops.yaml, line 4: {expected}"


@pytest.mark.parametrize("rule", ["max_drop", "max_increase"])
@pytest.mark.parametrize("written", [".nan", ".inf"])
def test_amounts_no_float_holds_are_config_errors(tmp_path: Path, rule: str, written: str) -> None:
    text = MODEL + f"gates:\n  - metric: a\n    {rule}: {written}\n"
    assert config_error(tmp_path, text).startswith(
        f"mlops.yaml, line 4: gates[0].{rule} is {written}, which is not a number"
    )


def test_a_number_of_thousands_of_digits_names_its_line(tmp_path: Path) -> None:
    # Python refuses to read it at all (int_max_str_digits); ruamel's ValueError was a traceback
    text = MODEL + "gates:\n  - metric: a\n    min: " + "9" * 5000 + "\n"
    assert config_error(tmp_path, text) == (
        "mlops.yaml, line 4: a number of more than 4300 digits cannot be read; write the "
        "threshold you mean, as a number of sensible size."
    )


def test_percentages_stay_finite(tmp_path: Path) -> None:
    # the pattern has no exponent, and the 50-character cap keeps the digits a float can hold
    message = config_error(tmp_path, MODEL + "gates:\n  - metric: a\n    max_drop: 1e400%\n")
    assert message.startswith("mlops.yaml, line 4: gates[0].max_drop must be a number >= 0 or ")
    longest = "9" * 48 + "%"
    config = load_text(tmp_path, MODEL + f"gates:\n  - metric: a\n    max_drop: {longest}\n")
    assert math.isfinite(config.gates[0].rules[0].value)


def test_a_lone_surrogate_in_the_configuration_is_refused(tmp_path: Path) -> None:
    assert config_error(tmp_path, MODEL + 'report:\n  title: "model \\ud800"\n') == (
        "mlops.yaml, line 3: report.title is 'model \\ud800', which holds an escape such as "
        "\\ud800 that is not a character (a lone surrogate); delete it."
    )
    assert config_error(tmp_path, MODEL + 'metrics:\n  primary: "\\udc80"\n').startswith(
        "mlops.yaml, line 3: metrics.primary is '\\udc80', which holds an escape"
    )


def test_a_document_over_256_kib_is_refused_before_parsing(tmp_path: Path) -> None:
    text = MODEL + "# " + "é" * (128 * 1024) + "\n"  # counted in bytes, not characters
    assert config_error(tmp_path, text) == (
        f"mlops.yaml is {len(text.encode())} bytes, more than the 262144 (256 KiB) an mlops-ci "
        "configuration may have; it needs a few kilobytes. Remove what is not configuration."
    )


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    text = MODEL + "card:\n  tags: " + "[" * 60 + "]" * 60 + "\n"
    assert config_error(tmp_path, text) == (
        "mlops.yaml: the values are nested more than 50 levels deep; an mlops-ci configuration "
        "needs three or four. Flatten the lists and mappings."
    )


def alias_bomb(levels: int = 9) -> str:
    """Billion laughs: nine lists of nine aliases of the list before, 9**9 strings in all."""
    lines = ['  a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"  a{level}: &a{level} [{aliases}]")
    return MODEL + "card:\n" + "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    # In a subprocess with a timeout: today this expands for 81 s and then segfaults, so a
    # regression must fail here, not hang the suite or crash pytest.
    path = write(tmp_path, alias_bomb())
    script = (
        "import sys\n"
        "from mlops_ci.config import load_config\n"
        "from mlops_ci.errors import ConfigError\n"
        "try:\n"
        "    load_config(__import__('pathlib').Path(sys.argv[1]))\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "used more than 100 times" in done.stdout
    assert done.stdout.startswith("mlops.yaml, line ")


def test_many_values_without_aliases_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_yaml, "MAX_VALUES", 1000)  # 100,000 takes ruamel seconds to parse
    items = ", ".join(["x"] * 1000)
    assert config_error(tmp_path, MODEL + f"card:\n  tags: [{items}]\n") == (
        "mlops.yaml, line 3: mlops.yaml holds more than 1000 values; an mlops-ci configuration "
        "holds a few hundred. Remove what is not configuration."
    )


def test_a_few_uses_of_an_alias_are_fine(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        MODEL + "card:\n  tags: &tags [a, b]\n  datasets: *tags\n  language: *tags\n",
    )
    assert config.card.datasets == ["a", "b"] == config.card.language


# --- the same, end to end in a real project ------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "shown"),
    [
        (".nan", "is .nan"),
        (".inf", "is .inf"),
        ("-.inf", "is -.inf"),
        ("9" * 400, "is a number of 400"),
    ],
    ids=["nan", "inf", "-inf", "400 digits"],
)
def test_a_project_with_a_hostile_threshold_stops_before_running(
    project: Path, threshold: str, shown: str
) -> None:
    config = project / CONFIG_FILENAME
    config.write_text(config.read_text().replace("min: 0.95", f"min: {threshold}"))
    before = tree_state(project)
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 2, result.stderr
    assert f"mlops.yaml, line 16: gates[0].min {shown}" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert tree_state(project) == before and not (project / ".mlops").exists()
