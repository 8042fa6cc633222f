"""GitHub Deployments: record which version is live in an environment.

A deployment names the ref (the release's tag) and the environment; its status says how it
went and links the environment's URL and the run's log, which the repository's Environments
page shows. Needs ``permissions: deployments: write``.

GitHub would first merge the default branch into the ref (``auto_merge``) and require every
commit status to pass (``required_contexts``): both are off, because a release tag is deployed
as it is, and its gates were judged before it was released.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import GitHubError, InputError
from mlops_ci.github.releases import repo_path

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient

STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
MAX_STATUS_DESCRIPTION = 140  # GitHub's limit on a deployment status's description
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")


def run_url(env: Mapping[str, str]) -> str | None:
    """The URL of the Actions run *env* describes, or None outside GitHub Actions."""
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository, run_id = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    if not (_URL.fullmatch(server) and re.fullmatch(r"[\w.-]+/[\w.-]+", repository)
            and run_id.isdigit()):
        return None
    url = f"{server}/{repository}/actions/runs/{run_id}"
    attempt = env.get("GITHUB_RUN_ATTEMPT", "1")
    return f"{url}/attempts/{attempt}" if attempt.isdigit() and int(attempt) > 1 else url


def record_deployment(
    client: GitHubClient,
    repo: str,
    *,
    ref: str,
    environment: str,
    description: str,
    payload: Mapping[str, Any],
    environment_url: str | None,
    state: str = "success",
    log_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Create a deployment of *ref* to *environment* and its first status; the deployment's id.

    ``log_url`` defaults to the Actions run's URL, read from *env* (the process environment
    when None) when it is an Actions run.
    """
    import os

    if state not in STATES:
        raise InputError(f"The deployment state {state!r} is not one of {', '.join(STATES)}.")
    if not environment.strip():
        raise InputError("The deployment environment is empty; name it, like production.")
    for what, url in (("environment URL", environment_url), ("log URL", log_url)):
        if url is not None and not _URL.fullmatch(url):
            raise InputError(f"The deployment's {what} {url!r} is not an http(s) URL.")
    if log_url is None:
        log_url = run_url(os.environ if env is None else env)

    deployment = client.post_json(f"{repo_path(repo)}/deployments", {
        "ref": ref,
        "environment": environment,
        "description": description,
        "payload": dict(payload),
        "auto_merge": False,
        "required_contexts": [],
    })
    deployment_id = deployment.get("id") if isinstance(deployment, dict) else None
    if not isinstance(deployment_id, int):
        message = deployment.get("message") if isinstance(deployment, dict) else None
        raise GitHubError(f"GitHub did not create the deployment of {ref} to {environment}"
                          + (f" ({message})." if message else "."))

    status: dict[str, Any] = {"state": state, "description": _bounded(description),
                              "auto_inactive": True}
    if environment_url:
        status["environment_url"] = environment_url
    if log_url:
        status["log_url"] = log_url
    # Posting the same status twice is harmless, so it is retried like a read.
    client.post_json(f"{repo_path(repo)}/deployments/{deployment_id}/statuses", status,
                     idempotent=True)
    return deployment_id


def _bounded(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= MAX_STATUS_DESCRIPTION:
        return line
    return line[: MAX_STATUS_DESCRIPTION - 1] + "…"
