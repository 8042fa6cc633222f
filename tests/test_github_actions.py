"""Outputs, job summary and workflow commands, read back the way the Actions runner reads them.

The two small parsers below follow the runner's own algorithms (actions/runner:
FileCommandManager.cs for $GITHUB_OUTPUT, ActionCommand.cs for `::command::` lines, including
the legacy `##[command]` form it still accepts), so a round trip through them is what a real
run would see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_ci.errors import InputError
from mlops_ci.github.actions import (
    OUTPUT_NAMES,
    SUMMARY_CUT_NOTE,
    SUMMARY_LIMIT,
    add_mask,
    annotation,
    append_step_summary,
    endgroup,
    escape_data,
    escape_property,
    fit_summary,
    format_outputs,
    gate_annotations,
    group,
    report_outputs,
    write_outputs,
)
from mlops_ci.report import (
    CardInfo,
    GateResult,
    Lineage,
    ModelInfo,
    Report,
    Revision,
    Verdict,
)
from mlops_ci.security import log_safe

# --- the runner's $GITHUB_OUTPUT reader (Linux build: lines end at "\n") ---


def _read_line(text: str, index: int) -> tuple[str | None, int, str | None]:
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    return text[index:lf], lf + 1, "\n"


def parse_output_file(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    index = 0
    line, index, _ = _read_line(text, index)
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                key, value = line.split("=", 1)
            elif heredoc >= 0 and (equals < 0 or heredoc < equals):
                key, delimiter = line.split("<<", 1)
                if not key or not delimiter:
                    raise ValueError(f"invalid format {line!r}")
                start = end = index
                temp, index, newline = _read_line(text, index)
                while temp != delimiter:
                    if temp is None:
                        raise ValueError(f"matching delimiter not found {delimiter!r}")
                    if newline is None:
                        raise ValueError("EOF marker missing new line")
                    end = index - len(newline)
                    temp, index, newline = _read_line(text, index)
                value = text[start:end] if end > start else ""
            else:
                raise ValueError(f"invalid format {line!r}")
            outputs[key] = value
        line, index, _ = _read_line(text, index)
    return outputs


# --- the runner's workflow command parser ---

REGISTERED = {
    "error", "warning", "notice", "add-mask", "group", "endgroup", "set-output", "set-env",
    "add-path", "debug", "save-state", "stop-commands", "echo", "add-matcher",
}


@dataclass
class Command:
    name: str
    data: str
    properties: dict[str, str] = field(default_factory=dict)


def _unescape(text: str, mapping: list[tuple[str, str]]) -> str:
    for token, replacement in mapping:
        text = text.replace(replacement, token)
    return text


_DATA = [("\r", "%0D"), ("\n", "%0A"), ("%", "%25")]
_PROPERTY = [("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")]
_LEGACY = [(";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"), ("%", "%25")]


def _parse_v2(message: str) -> Command | None:
    message = message.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in REGISTERED:
        return None
    command = Command(name, _unescape(message[end + 2:], _DATA))
    if space > 0:
        for pair in info[space + 1:].strip().split(","):
            key, sep, value = pair.partition("=")
            if pair and key and sep and value:
                command.properties[key] = _unescape(value, _PROPERTY)
    return command


def _parse_legacy(message: str) -> Command | None:
    start = message.find("##[")
    if start < 0:
        return None
    close = message.find("]", start)
    if close < 0:
        return None
    info = message[start + 3:close]
    name = info.split(" ", 1)[0]
    if name.lower() not in REGISTERED:
        return None
    return Command(name, _unescape(message[close + 1:], _LEGACY))


# The runner reads a step's output with .NET's ReadLine: a line ends at "\n", "\r\n" or "\r".
_LINE_END = re.compile(r"\r\n|\r|\n")


def commands_in(log: str) -> list[Command]:
    """Every workflow command the runner would act on in *log* (it reads line by line)."""
    found = []
    for line in _LINE_END.split(log):
        command = _parse_v2(line) or _parse_legacy(line)
        if command is not None:
            found.append(command)
    return found


def only_command(line: str) -> Command:
    commands = commands_in(line)
    assert len(commands) == 1, commands
    assert "\n" not in line and "\r" not in line
    return commands[0]


# --- outputs ---

def test_outputs_parse_back() -> None:
    outputs = {
        "verdict": "fail",
        "report-json": ".mlops/report.json",
        "report-md": ".mlops/report.md",
        "failed-gates": '["accuracy", "f1"]',
        "multi": "line one\nline two\n",
        "empty": "",
        "crlf": "a\r\nb",
        "unicode": "précision ≥ 0.9 ✓",
        "equals": "a=b<<c",
    }
    assert parse_output_file(format_outputs(outputs)) == outputs


def test_a_value_holding_a_naive_delimiter_line() -> None:
    value = "before\nEOF\nghadelimiter_\n::set-output name=verdict::pass\nafter"
    text = format_outputs({"report-md": value, "verdict": "fail"})
    assert parse_output_file(text) == {"report-md": value, "verdict": "fail"}


def test_a_delimiter_found_in_the_value_is_replaced() -> None:
    value = "x\nghadelimiter_taken\ny"
    offered: Iterator[str] = iter(["ghadelimiter_taken", "ghadelimiter_free"])
    text = format_outputs({"report-md": value}, new_delimiter=lambda: next(offered))
    assert text.startswith("report-md<<ghadelimiter_free\n")
    assert parse_output_file(text) == {"report-md": value}


def test_delimiters_are_random_per_output() -> None:
    text = format_outputs({"a": "1", "b": "2"})
    headers = [line for line in text.splitlines() if "<<" in line]
    delimiters = {h.split("<<", 1)[1] for h in headers}
    assert len(delimiters) == 2
    assert all(d.startswith("ghadelimiter_") and len(d) > 30 for d in delimiters)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True), st.text()))
def test_any_values_round_trip(outputs: dict[str, str]) -> None:
    assert parse_output_file(format_outputs(outputs)) == outputs


@pytest.mark.parametrize("name", ["", "has space", "a=b", "a<<b", "new\nline", "1abc"])
def test_bad_output_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="output name"):
        format_outputs({name: "x"})


def test_the_tool_output_names_are_valid() -> None:
    outputs = {name: name for name in OUTPUT_NAMES}
    assert parse_output_file(format_outputs(outputs)) == outputs


def test_write_outputs_appends(tmp_path: Path) -> None:
    path = tmp_path / "set_output"
    path.write_text("earlier=step\n", encoding="utf-8")
    assert write_outputs({"verdict": "pass", "comment-url": "https://x/1#c"},
                         {"GITHUB_OUTPUT": str(path)}) is True
    assert write_outputs({"report-md": "# Title\n"}, {"GITHUB_OUTPUT": str(path)}) is True
    assert parse_output_file(path.read_text(encoding="utf-8")) == {
        "earlier": "step", "verdict": "pass", "comment-url": "https://x/1#c",
        "report-md": "# Title\n",
    }


@pytest.mark.parametrize("env", [{}, {"GITHUB_OUTPUT": ""}])
def test_write_outputs_without_the_variable_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert write_outputs({"verdict": "pass"}, env) is False
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="GITHUB_OUTPUT"):
        write_outputs({"verdict": "pass"}, {"GITHUB_OUTPUT": str(tmp_path)})


# --- outputs from a report ---

def gate(metric: str, verdict: str, severity: str = "error", line: int | None = 7) -> GateResult:
    return GateResult(
        metric=metric, rule="max_drop", threshold=0.01, threshold_text="0.01", relative=False,
        severity=severity,  # type: ignore[arg-type]
        verdict=verdict,  # type: ignore[arg-type]
        base=0.9, head=0.85, limit=0.89,
        explanation=f"{metric} dropped 0.05 (max 0.01)", gate_index=0, line=line,
    )


def make_report(gates: list[GateResult]) -> Report:
    failed = sum(g.verdict == "fail" and g.severity == "error" for g in gates)
    return Report(
        title="Model report", digits=4,
        model=ModelInfo(name="churn", path="models/model.pkl", task="tabular-classification"),
        primary_metric="accuracy",
        base=Revision(rev="a" * 40), head=Revision(rev="b" * 40),
        metrics=[], params=[], params_head={}, gates=gates, lineage=Lineage(),
        verdict=Verdict(status="fail" if failed else "pass", failed=failed, warnings=0,
                        summary=""),
        card=CardInfo(), created_at="2024-01-01T00:00:00Z", tool_version="0.1.0",
        config_file="config/mlops.yaml",
    )


def test_report_outputs() -> None:
    report = make_report([
        gate("accuracy", "fail"), gate("f1", "pass"), gate("accuracy", "fail"),
        gate("latency", "fail", severity="warning"), gate("auc", "fail"),
    ])
    outputs = report_outputs(report, report_json=Path(".mlops/report.json"),
                             report_md=".mlops/report.md", model_card=Path("MODEL_CARD.md"),
                             comment_url="https://github.com/o/r/pull/2#issuecomment-1")
    assert set(outputs) == set(OUTPUT_NAMES)
    assert outputs["verdict"] == "fail"
    assert outputs["report-json"] == ".mlops/report.json"
    assert json.loads(outputs["failed-gates"]) == ["accuracy", "auc"]
    assert parse_output_file(format_outputs(outputs)) == outputs


def test_report_outputs_when_all_pass() -> None:
    outputs = report_outputs(make_report([gate("f1", "pass")]), report_json="r.json",
                             report_md="r.md")
    assert outputs["verdict"] == "pass"
    assert json.loads(outputs["failed-gates"]) == []
    assert "model-card" not in outputs and "comment-url" not in outputs


def test_gate_annotations_point_at_the_config() -> None:
    report = make_report([
        gate("accuracy", "fail", line=12), gate("f1", "pass"),
        gate("lat,ency:p99", "fail", severity="warning", line=None),
    ])
    commands = [only_command(line) for line in gate_annotations(report)]
    assert [(c.name, c.properties) for c in commands] == [
        ("error", {"file": "config/mlops.yaml", "line": "12", "title": "Gate failed: accuracy"}),
        ("warning", {"file": "config/mlops.yaml", "title": "Gate warning: lat,ency:p99"}),
    ]
    assert commands[0].data == "accuracy dropped 0.05 (max 0.01)"


# --- the job summary ---

def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "step_summary"
    path.write_text("# Earlier step\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(path)}
    assert append_step_summary("## Model report\n\n| a | b |", env) is True
    assert append_step_summary("more", env) is True
    expected = "# Earlier step\n## Model report\n\n| a | b |\nmore\n"
    assert path.read_text(encoding="utf-8") == expected


def test_summary_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "step_summary"
    assert append_step_summary("hello\n", {"GITHUB_STEP_SUMMARY": str(path)}) is True
    assert path.read_text(encoding="utf-8") == "hello\n"


@pytest.mark.parametrize("env", [{}, {"GITHUB_STEP_SUMMARY": ""}])
def test_summary_without_the_variable_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert append_step_summary("hello", env) is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("already", [0, 1, 2, 3, 1000, SUMMARY_LIMIT - 5000])
def test_summary_is_cut_to_the_limit(tmp_path: Path, already: int) -> None:
    path = tmp_path / "step_summary"
    path.write_bytes(b"x" * already)
    # Four-byte characters and short lines: the cut lands inside a character for some of the
    # parametrised offsets, and the cut must still leave valid UTF-8.
    markdown = "".join(f"| {i} | {'😀' * (i % 7)} |\n" for i in range(200_000))
    assert append_step_summary(markdown, {"GITHUB_STEP_SUMMARY": str(path)}) is False
    data = path.read_bytes()
    assert SUMMARY_LIMIT - 200 < len(data) <= SUMMARY_LIMIT
    text = data.decode("utf-8")  # raises if a character was split
    assert text.endswith(SUMMARY_CUT_NOTE)
    kept = text[already:-len(SUMMARY_CUT_NOTE)]
    assert markdown.startswith(kept) and kept.endswith("\n")


def test_summary_that_fits_exactly_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "step_summary"
    markdown = "é" * 50 + "\n"
    path.write_bytes(b"x" * (SUMMARY_LIMIT - len(markdown.encode())))
    assert append_step_summary(markdown, {"GITHUB_STEP_SUMMARY": str(path)}) is True
    assert path.stat().st_size == SUMMARY_LIMIT


def test_a_full_summary_gets_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "step_summary"
    path.write_bytes(b"x" * (SUMMARY_LIMIT - 10))
    assert append_step_summary("# Model report\n", {"GITHUB_STEP_SUMMARY": str(path)}) is False
    assert path.stat().st_size == SUMMARY_LIMIT - 10


@pytest.mark.parametrize("extra", [0, 1, 2, 3])
def test_a_cut_inside_one_long_line_keeps_whole_characters(extra: int) -> None:
    markdown = "😀" * 1000  # no line break to cut at
    budget = len(SUMMARY_CUT_NOTE.encode()) + 40 + extra
    text, whole = fit_summary(markdown, budget)
    assert not whole
    kept = text[: -len(SUMMARY_CUT_NOTE)]
    assert kept == "😀" * 10  # 40 bytes; the 1-3 spare bytes cannot hold a fifth of a character
    assert len(text.encode()) <= budget


@given(st.text(), st.integers(min_value=0, max_value=400))
def test_fit_summary_never_exceeds_its_budget(markdown: str, budget: int) -> None:
    text, whole = fit_summary(markdown, budget)
    assert len(text.encode("utf-8")) <= budget
    assert whole == (text == markdown)
    if not whole and text:
        assert markdown.startswith(text[: -len(SUMMARY_CUT_NOTE)])


# --- workflow commands ---

def test_annotation_matches_the_toolkit_format() -> None:
    assert annotation("error", "accuracy dropped") == "::error::accuracy dropped"
    assert annotation(
        "warning", "50% done\r\nnext", file="conf/a,b:c.yaml", line=3, title="Gate: x, y"
    ) == "::warning file=conf/a%2Cb%3Ac.yaml,line=3,title=Gate%3A x%2C y::50%25 done%0D%0Anext"
    assert annotation("notice", "a::b", title="") == "::notice::a::b"


def test_escaping_functions() -> None:
    assert escape_data("%0A\n") == "%250A%0A"
    assert escape_property("%:,\r") == "%25%3A%2C%0D"


@pytest.mark.parametrize("level", ["debug", "ERROR", "fatal"])
def test_unknown_levels_are_refused(level: str) -> None:
    with pytest.raises(ValueError, match="level"):
        annotation(level, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize("line", [0, -1, True])
def test_bad_lines_are_refused(line: int) -> None:
    with pytest.raises(ValueError, match="line"):
        annotation("error", "x", line=line)


INJECTIONS = [
    "feature\n::set-output name=verdict::pass",
    "::error::pwned",
    "x\r\n::add-mask::y",
    "a%0A::set-env name=X::y",
    "fix,title=Fake::stop-commands::t",
    "##[set-output name=verdict;]pass",
    " \n  ::endgroup::",
]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_hostile_text_cannot_start_another_command(hostile: str) -> None:
    line = annotation("error", f"branch {hostile}", file=hostile, line=4, title=hostile)
    command = only_command(line)
    assert command.name == "error"
    assert command.data == f"branch {hostile}"
    assert command.properties == {"file": hostile, "line": "4", "title": hostile}


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_hostile_group_and_mask_stay_one_command(hostile: str) -> None:
    assert only_command(group(hostile)) == Command("group", hostile)
    assert only_command(add_mask(hostile)) == Command("add-mask", hostile)


def test_group_and_mask() -> None:
    assert group("dvc repro") == "::group::dvc repro"
    assert endgroup() == "::endgroup::"
    assert add_mask("ghp_secret\nline2") == "::add-mask::ghp_secret%0Aline2"


# The runner trims the property list, so a value's surrounding whitespace is not kept (nor by
# GitHub's toolkit); generate values without it.
_stripped = st.text().map(str.strip)


@given(st.text(), _stripped, _stripped, st.integers(min_value=1, max_value=10**6))
def test_any_annotation_parses_back(message: str, file: str, title: str, line: int) -> None:
    command = only_command(annotation("warning", message, file=file, line=line, title=title))
    assert command.name == "warning"
    assert command.data == message
    # Empty properties are left out, as the toolkit does.
    expected = {"file": file, "line": str(line), "title": title}
    assert command.properties == {k: v for k, v in expected.items() if v}


# --- untrusted text on a log line (security.log_safe) ---

LOG_INJECTIONS = [
    "feature\n::set-output name=verdict::pass",
    "##[set-output name=verdict;]pass",
    " \n  ::endgroup::",
    "::stop-commands::pwned",
    "\t ::add-mask::x",
    "half\r::warning::after a carriage return",
    "a\r\n::error::b",
    "text ##[add-mask]x",
    "\u00a0::error::after a no-break space",
]


@pytest.mark.parametrize("hostile", LOG_INJECTIONS)
def test_log_safe_text_issues_no_command_and_reads_the_same(hostile: str) -> None:
    assert commands_in(hostile)  # the runner would act on the raw text
    safe = log_safe(hostile)
    assert commands_in(safe) == []
    assert safe.replace("\u200b", "") == hostile
