"""The red team's cases: a hostile pull request or artifact against the defences of issue 6.

Each test is one attack, run as the attacker would: a crafted report.json for the fork-safe
commenter (against the local GitHub API over real sockets), hostile names for the log lines,
a hostile project for the readers. Each failed on the code before its fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from test_comment_command import (
    _pull_request_based_on_the_checkout,  # noqa: F401  (autouse: the checkout is the PR's base)
    artifact,
    forge_pass,
    nothing_published,
    run_comment,
    trusted_checkout,
    workflow_run_env,
)

from conftest import cli
from factories import make_failing_report, make_metric
from github_fake import FakeGitHub
from github_fake.state import PR_NUMBER
from mlops_ci.report import Report

# --- the commenter: a hostile artifact is one sentence and exit 2, never a traceback ---

BIG = "1" + "0" * 400  # beyond any float
HUGE = "1" * 5000  # beyond Python's limit for turning digits into an int


def _hostile_json(tmp_path: Path, edit: str) -> Path:
    """The artifact's report.json with one edit applied to its text."""
    path = artifact(tmp_path, make_failing_report())
    text = path.read_text(encoding="utf-8")
    edits = {
        "a 5000-digit metric": lambda t: re.sub(r'"head": [0-9.]+', f'"head": {HUGE}', t, count=1),
        "a 400-digit metric": lambda t: re.sub(r'"head": [0-9.]+', f'"head": {BIG}', t, count=1),
        "a 400-digit base": lambda t: re.sub(r'"base": [0-9.]+', f'"base": {BIG}', t, count=1),
        "a 400-digit delta": lambda t: re.sub(r'"delta": [-0-9.]+', f'"delta": {BIG}', t, count=1),
        "a 400-digit size": lambda t: re.sub(r'"size": [0-9]+', f'"size": {BIG}', t, count=1),
        "a 400-digit param": lambda t: t.replace('"params_head": {',
                                                 f'"params_head": {{"p.yaml:zz": {BIG}, ', 1),
        "a lone surrogate in the title": lambda t: t.replace('"title": "',
                                                             '"title": "\\ud800', 1),
        "a lone surrogate in the model's name": lambda t: t.replace('"name": "',
                                                                    '"name": "\\udfff', 1),
    }
    path.write_text(edits[edit](text), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit", [
    "a 5000-digit metric",
    "a 400-digit metric", "a 400-digit base", "a 400-digit delta", "a 400-digit size",
    "a 400-digit param", "a lone surrogate in the title",
    "a lone surrogate in the model's name",
])
def test_a_hostile_artifact_is_refused_in_one_sentence(
    github_api: FakeGitHub, tmp_path: Path, edit: str
) -> None:
    env = workflow_run_env(github_api, tmp_path)
    report_path = _hostile_json(tmp_path, edit)
    result = cli("comment", "--report", str(report_path), "--pr", str(PR_NUMBER),
                 cwd=trusted_checkout(tmp_path), env=env)
    assert "Traceback" not in result.stderr, result.stderr[-600:]
    assert result.code in (0, 2), result.stderr
    if result.code == 2:
        assert result.stderr.startswith("mlops-ci: error: ") and str(report_path) in result.stderr
        assert nothing_published(github_api)


# --- the log: what mlops-ci prints on stdout issues no workflow command ---

COMMANDS = "::stop-commands::pwned\n  ::warning::x\r::error::y\n##[add-mask]z"


def _live_commands(text: str) -> list[str]:
    """Lines the runner would read as workflow commands (``::`` after white space, ``##[``)."""
    lines = re.split(r"\r\n|\r|\n", text)
    return [line for line in lines if line.strip().startswith("::") or "##[" in line]


def _hostile_card(project: Path) -> None:
    config = project / "mlops.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("title: Breast cancer classifier", f"title: {json.dumps(COMMANDS)}")
    text = re.sub(r"  description: >-\n(    .*\n)+",
                  f"  description: {json.dumps(COMMANDS)}\n", text, count=1)
    config.write_text(text, encoding="utf-8")


def test_card_on_stdout_issues_no_workflow_command(project: Path) -> None:
    _hostile_card(project)
    result = cli("card", "--output", "-", cwd=project, env={"GITHUB_ACTIONS": "true"})
    assert result.code == 0, result.stderr
    assert "stop-commands" in result.stdout  # the text is there, to read
    assert _live_commands(result.stdout) == []


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_diff_on_stdout_issues_no_workflow_command(project: Path, fmt: str) -> None:
    _hostile_card(project)
    result = cli("diff", "--format", fmt, cwd=project, env={"GITHUB_ACTIONS": "true"})
    assert result.code == 0, result.stderr
    assert _live_commands(result.stdout) == []
    if fmt == "json":  # the data is unchanged: only its spelling differs
        assert json.loads(result.stdout)["title"] == COMMANDS


def test_debug_logs_of_the_commenter_never_print_the_token(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = workflow_run_env(github_api, tmp_path)
    report_path = artifact(tmp_path, make_failing_report())
    result = cli("--debug", "comment", "--report", str(report_path), "--pr", str(PR_NUMBER),
                 cwd=trusted_checkout(tmp_path), env=env)
    assert result.code == 0, result.stderr
    token = env["GITHUB_TOKEN"]
    assert token not in result.stderr
    assert result.stdout.count(token) == 1 and f"::add-mask::{token}" in result.stdout


# --- the commenter: no forgery of the artifact earns a success ---


def _metrics(report: Report, edit: Callable[[list], list]) -> Report:
    return forge_pass(replace(report, metrics=edit(list(report.metrics))))


def _renamed(name: str) -> Callable[[Report], Report]:
    """The failing accuracy under a look-alike name, and a passing one under its own."""
    def edit(report: Report) -> Report:
        return _metrics(report, lambda ms: [
            *(replace(m, name=name) if m.name == "accuracy" else m for m in ms),
        ])
    return edit


FORGERIES: dict[str, Callable[[Report], Report]] = {
    "a forged verdict and no gates": lambda r: forge_pass(replace(r, gates=[])),
    "a passing twin in the same file": lambda r: _metrics(r, lambda ms: [
        *ms, make_metric("accuracy", 0.8812, 0.8812)]),
    "a passing twin in another file": lambda r: _metrics(r, lambda ms: [
        *ms, make_metric("accuracy", 0.8812, 0.8812, file="other.json")]),
    "a passing twin named by file:name": lambda r: _metrics(r, lambda ms: [
        *ms, make_metric("metrics.json:accuracy", 0.8812, 0.8812, file="x.json")]),
    "higher_is_better flipped": lambda r: _metrics(r, lambda ms: [
        replace(m, higher_is_better=not m.higher_is_better, change="better") for m in ms]),
    "the metric renamed with a zero-width space": _renamed("accuracy\u200b"),
    "the metric renamed in capitals": _renamed("ACCURACY"),
    "the metric renamed in full-width letters": _renamed("\uff41ccuracy"),
    "the metric marked removed": lambda r: _metrics(r, lambda ms: [
        replace(m, change="removed") if m.name == "accuracy" else m for m in ms]),
    "the head as a string": lambda r: _metrics(r, lambda ms: [
        replace(m, head="0.8812") if m.name == "accuracy" else m for m in ms]),
    "more digits than the trusted config": lambda r: forge_pass(replace(r, digits=1)),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_no_forgery_of_a_failing_report_earns_a_success(
    github_api: FakeGitHub, tmp_path: Path, forgery: str
) -> None:
    env = workflow_run_env(github_api, tmp_path)
    path = artifact(tmp_path, make_failing_report())
    report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
    path.write_text(FORGERIES[forgery](report).to_json(), encoding="utf-8")

    assert run_comment(env, path) == 0
    states = [s["state"] for s in github_api.state.repo().statuses]
    assert states == ["failure"], forgery


# --- reads: nothing outside the repository reaches the report ---

SECRET = '{"leaked_secret": 271828}'


@pytest.mark.parametrize("how", ["a metrics directory", "a directory symlink", "a chain"])
def test_a_metrics_path_cannot_read_outside_the_repository(
    project: Path, tmp_path: Path, how: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(SECRET, encoding="utf-8")
    if how == "a metrics directory":  # a directory of metrics, one file in it a symlink
        (project / "more").mkdir()
        (project / "more" / "m.json").symlink_to(outside / "secret.json")
        target = "more"
    elif how == "a directory symlink":  # the parent directory is the link
        (project / "more").symlink_to(outside)
        target = "more/secret.json"
    else:  # a link to a link inside the repository, that one leading out
        (project / "hop.json").symlink_to(outside / "secret.json")
        (project / "more.json").symlink_to("hop.json")
        target = "more.json"
    config = project / "mlops.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "files: [metrics.json]", f"files: [metrics.json, {target}]"), encoding="utf-8")

    result = cli("diff", "--format", "json", cwd=project)
    assert "271828" not in result.stdout + result.stderr
    assert result.code == 2, result.stderr
    assert "outside the repository" in result.stderr and str(outside) in result.stderr
