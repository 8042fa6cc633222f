"""The verdict on the pull request's head commit, for branch protection to require.

A commit status (``POST /repos/{owner}/{repo}/statuses/{sha}``) works with the workflow's
``GITHUB_TOKEN`` given ``statuses: write``. A check run shows richer output but GitHub accepts it
only from a GitHub App's token; it is tried when the caller asks, and a 403 falls back to a
status. Both are named ``mlops-ci/<key>``, so each comment key gets its own required check.

A report that no trusted configuration judged (the fork-safe commenter found no mlops.yaml in
the base repository's checkout) never earns a success: its status is ``error`` and its check
run's conclusion ``failure``, and the description says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlops_ci.github.comments import BODY_BUDGET, check_key, fit_markdown
from mlops_ci.github.errors import GitHubPermissionError

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.report import Report

DESCRIPTION_LIMIT = 140  # GitHub truncates a status description beyond this
CHECK_TITLE_LIMIT = 255


@dataclass(frozen=True)
class VerdictResult:
    kind: Literal["status", "check-run"]
    name: str  # the context of the status, or the name of the check run
    state: str  # success, failure or error
    url: str | None  # the check run's page; a status has none of its own


def check_name(key: str) -> str:
    """The status context and check-run name: ``mlops-ci/default``."""
    return f"mlops-ci/{check_key(key)}"


def one_line(report: Report, limit: int = DESCRIPTION_LIMIT) -> str:
    """The verdict as one line of at most *limit* characters."""
    from mlops_ci.render import render_summary_line

    text = " ".join(render_summary_line(report).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


State = Literal["success", "failure", "error"]


def _state(report: Report, trusted: bool) -> State:
    if not trusted:
        return "error"  # nothing trusted judged it: never a success
    return "success" if report.verdict.status == "pass" else "failure"


def set_commit_status(
    client: GitHubClient,
    *,
    owner: str,
    repo: str,
    sha: str,
    key: str,
    report: Report,
    target_url: str | None,
    trusted: bool = True,
) -> VerdictResult:
    """Set the ``mlops-ci/<key>`` status of *sha* to the report's verdict (error if untrusted)."""
    payload = {
        "state": _state(report, trusted),
        "context": check_name(key),
        "description": one_line(report),
    }
    if target_url:
        payload["target_url"] = target_url
    # Setting the same state twice changes nothing, so the POST may be retried.
    client.post_json(f"/repos/{owner}/{repo}/statuses/{sha}", payload, idempotent=True)
    return VerdictResult("status", check_name(key), payload["state"], None)


def create_check_run(
    client: GitHubClient,
    *,
    owner: str,
    repo: str,
    sha: str,
    key: str,
    report: Report,
    markdown: str,
    details_url: str | None,
    trusted: bool = True,
) -> VerdictResult:
    """A completed ``mlops-ci/<key>`` check run on *sha*, with the report as its summary."""
    # A check run has no "error"; and "neutral" would satisfy a required check.
    state = _state(report, trusted)
    conclusion = "failure" if state == "error" else state
    payload: dict[str, object] = {
        "name": check_name(key),
        "head_sha": sha,
        "status": "completed",
        "conclusion": conclusion,
        "output": {
            "title": one_line(report, CHECK_TITLE_LIMIT),
            "summary": fit_markdown(markdown, BODY_BUDGET, run_url=details_url),
        },
    }
    if details_url:
        payload["details_url"] = details_url
    # A second check run of the same name on the same commit supersedes the first in GitHub's
    # view, so repeating a POST that may have landed is harmless.
    data = client.post_json(f"/repos/{owner}/{repo}/check-runs", payload, idempotent=True)
    url = data.get("html_url") if isinstance(data, dict) else None
    return VerdictResult(
        "check-run", check_name(key), conclusion, url if isinstance(url, str) else None
    )


def publish_verdict(
    client: GitHubClient,
    *,
    owner: str,
    repo: str,
    sha: str,
    key: str,
    report: Report,
    markdown: str,
    target_url: str | None,
    check_run: bool = False,
    trusted: bool = True,
) -> VerdictResult:
    """A check run when asked for and the token may create one, else a commit status.

    *trusted* False: no trusted configuration judged *report*, and no success is set.
    """
    if check_run:
        try:
            return create_check_run(
                client, owner=owner, repo=repo, sha=sha, key=key, report=report,
                markdown=markdown, details_url=target_url, trusted=trusted,
            )
        except GitHubPermissionError:
            pass  # only GitHub App tokens may create check runs: a status says the same
    return set_commit_status(
        client, owner=owner, repo=repo, sha=sha, key=key, report=report,
        target_url=target_url, trusted=trusted,
    )
