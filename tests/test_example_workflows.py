"""The workflow templates (templates/workflows/, what `mlops-ci init` writes into
.github/workflows/) follow the rules they are examples of."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / "templates" / "workflows"
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


PULL_REQUEST = ["mlops-ci.yml", "mlops-ci-report.yml"]  # the workflows that run the pipeline


def test_the_five_templates_exist() -> None:
    assert ALL == [
        "mlops-ci-comment.yml", "mlops-ci-deploy.yml", "mlops-ci-release.yml",
        "mlops-ci-report.yml", "mlops-ci.yml",
    ]


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
        ("mlops-ci.yml", {"contents": "read", "pull-requests": "write"}),
        ("mlops-ci-release.yml", {"contents": "write", "deployments": "write",
                                  "pull-requests": "read"}),
        ("mlops-ci-report.yml", {"contents": "read"}),
        ("mlops-ci-comment.yml", {"contents": "read", "actions": "read",
                                  "pull-requests": "write", "statuses": "write"}),
    ],
)
def test_least_privilege(name: str, expected: dict[str, str]) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}  # nothing for a job added later without its own
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == expected


@pytest.mark.parametrize("name", PULL_REQUEST)
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
    # the action runs there only as the trusted commenter: never `run`, which reproduces
    ours = [s for s in steps(comment) if s.get("uses") == OUR_ACTION]
    assert ours and all(s["with"]["command"] == "comment" for s in ours)
    download = next(s for s in steps(comment) if "download-artifact" in s.get("uses", ""))
    upload = next(s for s in steps(report) if "upload-artifact" in s.get("uses", ""))
    assert download["with"]["name"] == upload["with"]["name"]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    (publish,) = ours
    # the arguments as the action's run step splits them, the expressions filled in
    from mlops_ci.action_inputs import Inputs, command_line

    args = (publish["with"]["args"]
            .replace("${{ runner.temp }}", "/runner/temp")
            .replace("${{ steps.pr.outputs.number }}", "17"))
    assert command_line(Inputs(command="comment", args=args)) == [
        "comment", "--report", "/runner/temp/mlops-ci-report/report.json", "--pr", "17"]
    # the number comes from a step that takes it only if it is one
    (number,) = [s for s in steps(comment) if s.get("id") == "pr"]
    assert "*[!0-9]*" in number["run"]


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


@pytest.mark.parametrize("name", ALL)
def test_dvc_sends_no_analytics(name: str) -> None:
    assert load(name)["env"]["DVC_NO_ANALYTICS"] == "true"


@pytest.mark.parametrize("name", ALL)
def test_every_job_has_a_time_limit(name: str) -> None:
    assert all(job["timeout-minutes"] <= 60 for job in load(name)["jobs"].values())


@pytest.mark.parametrize("name", PULL_REQUEST)
def test_a_new_push_cancels_the_run_it_supersedes(name: str) -> None:
    concurrency = load(name)["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    assert "${{ github.event.pull_request.number }}" in concurrency["group"]


@pytest.mark.parametrize("name", [*PULL_REQUEST, "mlops-ci-release.yml"])
def test_the_requirements_and_the_dvc_data_come_before_the_action(name: str) -> None:
    runs = [s.get("run", "") for s in steps(load(name))]
    action = next(i for i, s in enumerate(steps(load(name))) if s.get("uses") == OUR_ACTION)
    install = next(i for i, r in enumerate(runs) if "pip install" in r)
    assert "-r requirements.txt" in runs[install] and "mlops-ci" not in runs[install]
    pull = next(i for i, r in enumerate(runs) if "dvc pull" in r)
    # only when the repository has a default remote (the example project has none), and a
    # missing dvc is an error, not "no remote"
    assert "elif dvc remote default >/dev/null 2>&1; then\n  dvc pull" in runs[pull]
    assert runs[pull].startswith("if ! command -v dvc >/dev/null; then")
    assert install < pull < action


def github_filter(patterns: list[str], ref: str) -> bool:
    """Whether GitHub's `tags:` filter *patterns* select *ref* (`*`, `**` and `!` only)."""
    selected = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        parts = re.split(r"(\*\*|\*)", body)
        regex = "".join(
            ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts
        )
        if re.fullmatch(regex, ref):
            selected = not negated
    return selected


def test_the_release_workflow_runs_on_version_tags_only() -> None:
    release = load("mlops-ci-release.yml")
    assert set(on(release)) == {"push"} and set(on(release)["push"]) == {"tags"}
    patterns = on(release)["push"]["tags"]
    for tag in ["v1.2.0", "v1.2.0-rc.1", "churn@v1.2.0", "churn@v1.2.0#3", "cv/churn@v0.1.0",
                "models=churn@v2.0.0"]:
        assert github_filter(patterns, tag), tag
    # GTO's deregistrations, stage assignments and deprecations, and other tags
    for tag in ["churn@v1.2.0!", "churn@v1.2.0!#4", "churn#prod#1", "churn#prod!#2",
                "churn@deprecated", "v1.2", "release-1"]:
        assert not github_filter(patterns, tag), tag


def test_the_release_workflow_has_the_whole_history_and_the_tags_and_releases() -> None:
    release = load("mlops-ci-release.yml")
    (checkout,) = [s for s in steps(release) if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"] == {
        "fetch-depth": 0, "fetch-tags": True, "persist-credentials": False
    }
    (action,) = [s for s in steps(release) if s.get("uses") == OUR_ACTION]
    assert action["with"]["command"] == "release"
    assert release["concurrency"]["cancel-in-progress"] is False  # never half a release
    # the signing key from a secret, through env: (never in `with:` or a script)
    assert action["env"] == {"MLOPS_CI_SIGNING_KEY": "${{ secrets.MLOPS_CI_SIGNING_KEY }}"}
