"""The verdict as a commit status or a check run, on the local GitHub API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from factories import make_failing_report, make_report
from github_fake import BOT_TOKEN, FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.state import HEAD_SHA, OWNER, REPO
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.errors import GitHubPermissionError
from mlops_ci.github.status import (
    DESCRIPTION_LIMIT,
    VerdictResult,
    check_name,
    one_line,
    publish_verdict,
    set_commit_status,
)
from mlops_ci.report import Report

RUN_URL = "https://github.com/octo-org/ml-model/actions/runs/4242"
STATUS = "POST /repos/{owner}/{repo}/statuses/{sha}"
CHECK_RUN = "POST /repos/{owner}/{repo}/check-runs"


@pytest.fixture
def client(github_api: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(github_api.url, USER_TOKEN, sleep=lambda s: None) as made:
        yield made


def verdict(
    client: GitHubClient,
    report: Report,
    *,
    check_run: bool = False,
    key: str = "default",
    trusted: bool = True,
) -> VerdictResult:
    return publish_verdict(
        client, owner=OWNER, repo=REPO, sha=HEAD_SHA, key=key, report=report,
        markdown="## Model report\n", target_url=RUN_URL, check_run=check_run, trusted=trusted,
    )


def test_a_status_carries_the_verdict(github_api: FakeGitHub, client: GitHubClient) -> None:
    result = verdict(client, make_failing_report(), key="model-a")
    (status,) = github_api.state.repo().statuses
    assert (result.kind, result.name, result.state) == ("status", "mlops-ci/model-a", "failure")
    assert status["sha"] == HEAD_SHA and status["context"] == "mlops-ci/model-a"
    assert status["state"] == "failure" and status["target_url"] == RUN_URL
    assert status["description"].startswith("Failed — ")
    assert len(status["description"]) <= DESCRIPTION_LIMIT


def test_a_passing_report_is_a_success(github_api: FakeGitHub, client: GitHubClient) -> None:
    verdict(client, make_report())
    assert github_api.state.repo().statuses[0]["state"] == "success"


def test_the_description_is_cut_to_140_characters() -> None:
    report = make_failing_report()
    report.verdict.summary = "accuracy fell " * 40
    line = one_line(report)
    assert len(line) == DESCRIPTION_LIMIT and line.endswith("…")


def test_a_status_post_is_repeated_after_a_server_error(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    github_api.inject(502, on=STATUS)
    verdict(client, make_report())
    assert len(github_api.calls(STATUS)) == 2 and len(github_api.state.repo().statuses) == 1


def test_a_check_run_with_an_app_token(github_api: FakeGitHub) -> None:
    with GitHubClient(github_api.url, BOT_TOKEN) as client:
        result = verdict(client, make_failing_report(), check_run=True)
    (run,) = github_api.state.repo().check_runs
    assert result.kind == "check-run" and result.url and result.url.endswith(str(run["id"]))
    assert run["name"] == "mlops-ci/default" and run["conclusion"] == "failure"
    assert run["head_sha"] == HEAD_SHA and run["details_url"] == RUN_URL
    assert run["output"]["summary"] == "## Model report\n"
    assert github_api.state.repo().statuses == []


def test_a_check_run_falls_back_to_a_status_for_a_user_token(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    result = verdict(client, make_report(), check_run=True)
    assert result.kind == "status"
    assert [r.status for r in github_api.requests] == [403, 201]
    assert github_api.state.repo().check_runs == []
    assert github_api.state.repo().statuses[0]["context"] == "mlops-ci/default"


def test_a_read_only_token_names_the_permission(github_api: FakeGitHub) -> None:
    with GitHubClient(github_api.url, FORK_TOKEN) as client, pytest.raises(
        GitHubPermissionError, match="statuses: write"
    ):
        set_commit_status(client, owner=OWNER, repo=REPO, sha=HEAD_SHA, key="default",
                          report=make_report(), target_url=None)


def test_the_check_name_follows_the_comment_key() -> None:
    assert check_name("default") == "mlops-ci/default"


@pytest.mark.parametrize("token", [USER_TOKEN, BOT_TOKEN], ids=["status", "check-run"])
def test_a_report_no_trusted_config_judged_is_never_a_success(
    github_api: FakeGitHub, token: str
) -> None:
    """The fork-safe commenter without a trusted mlops.yaml: error (status), failure (check)."""
    with GitHubClient(github_api.url, token, sleep=lambda s: None) as client:
        result = verdict(client, make_report(), check_run=True, trusted=False)
    repo = github_api.state.repo()
    states = [s["state"] for s in repo.statuses] + [r["conclusion"] for r in repo.check_runs]
    expected = "error" if token == USER_TOKEN else "failure"
    assert states == [expected] and result.state == expected
