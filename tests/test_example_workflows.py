"""The example workflows in examples/workflows follow the rules they are examples of."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / "examples" / "workflows"
OUR_ACTION = "mlops-ci/mlops-ci@v1"  # the placeholder the docs explain


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def on(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1)
    trigger = workflow.get("on", workflow.get(True))
    assert isinstance(trigger, dict)
    return trigger


ALL = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_the_three_examples_exist() -> None:
    assert ALL == ["mlops-ci-comment.yml", "mlops-ci-report.yml", "pull-request.yml"]


@pytest.mark.parametrize("name", ALL)
def test_actions_are_pinned_by_commit_with_the_version_in_a_comment(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    for line in text.splitlines():
        match = re.match(r"\s*(?:-\s*)?uses:\s*(\S+)(.*)", line)
        if not match or match[1] == OUR_ACTION:
            continue
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", match[1]), line
        assert re.fullmatch(r"\s*# v\d+(\.\d+)*", match[2]), line


@pytest.mark.parametrize("name", ALL)
def test_no_expression_inside_a_script(name: str) -> None:
    for step in steps(load(name)):
        assert "${{" not in step.get("run", ""), step


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pull-request.yml", {"contents": "read", "pull-requests": "write"}),
        ("mlops-ci-report.yml", {"contents": "read"}),
        ("mlops-ci-comment.yml", {"contents": "read", "actions": "read",
                                  "pull-requests": "write", "statuses": "write"}),
    ],
)
def test_least_privilege(name: str, expected: dict[str, str]) -> None:
    workflow = load(name)
    assert workflow["permissions"] == expected
    assert all("permissions" not in job for job in workflow["jobs"].values())


@pytest.mark.parametrize("name", ["pull-request.yml", "mlops-ci-report.yml"])
def test_the_pull_request_workflows_fetch_the_base(name: str) -> None:
    workflow = load(name)
    assert set(on(workflow)) == {"pull_request"}
    (checkout,) = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 0
    assert checkout["with"]["persist-credentials"] is False
    assert any(s.get("uses") == OUR_ACTION for s in steps(workflow))


def test_the_comment_workflow_follows_the_report_workflow_and_never_runs_its_code() -> None:
    report, comment = load("mlops-ci-report.yml"), load("mlops-ci-comment.yml")
    trigger = on(comment)["workflow_run"]
    assert trigger["workflows"] == [report["name"]] and trigger["types"] == ["completed"]
    (checkout,) = [s for s in steps(comment) if s.get("uses", "").startswith("actions/checkout")]
    assert "ref" not in checkout.get("with", {})  # the default branch, not the pull request
    assert not any(s.get("uses") == OUR_ACTION for s in steps(comment))
    download = next(s for s in steps(comment) if "download-artifact" in s.get("uses", ""))
    upload = next(s for s in steps(report) if "upload-artifact" in s.get("uses", ""))
    assert download["with"]["name"] == upload["with"]["name"]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    (publish,) = [s for s in steps(comment) if "mlops-ci comment" in s.get("run", "")]
    assert "--pr" in publish["run"] and "--report" in publish["run"]


def test_the_report_workflow_posts_no_comment_and_uploads_even_on_a_failed_gate() -> None:
    report = load("mlops-ci-report.yml")
    action = next(s for s in steps(report) if s.get("uses") == OUR_ACTION)
    assert action["with"]["github-token"] == ""
    upload = next(s for s in steps(report) if "upload-artifact" in s.get("uses", ""))
    assert "!cancelled()" in upload["if"]


def test_the_report_workflow_reports_on_the_pull_requests_head_commit() -> None:
    """`mlops-ci comment` refuses a report of any other commit (the merge commit included)."""
    (checkout,) = [s for s in steps(load("mlops-ci-report.yml"))
                   if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
