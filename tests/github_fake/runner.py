"""Runner environments pointed at the local GitHub API, for tests that publish to it.

The event payloads are GitHub's own examples (tests/fixtures/events), adjusted to name the
fake's repository, pull request and commits, so the runner context is read from a payload of
the real shape.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .server import FakeGitHub
from .state import BASE_SHA, HEAD_SHA, OWNER, PR_NUMBER, REPO, RUN_ID

EVENTS = Path(__file__).resolve().parent.parent / "fixtures" / "events"
FULL_NAME = f"{OWNER}/{REPO}"
REPO_ID = 1296269  # the fake's octo-org/ml-model
MERGE_SHA = "c0ffee0000000000000000000000000000000001"  # what actions/checkout builds for a PR


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _repository(payload_repo: dict[str, Any], full_name: str, repo_id: int) -> dict[str, Any]:
    repo = copy.deepcopy(payload_repo)
    owner, name = full_name.split("/")
    repo.update(id=repo_id, name=name, full_name=full_name)
    if isinstance(repo.get("owner"), dict):
        repo["owner"]["login"] = owner
    return repo


def pull_request_payload(*, fork: bool = False, number: int = PR_NUMBER) -> dict[str, Any]:
    """A pull_request "synchronize" payload for the fake's pull request."""
    payload = load_event("pull_request.synchronize")
    pr = payload["pull_request"]
    base_repo = _repository(pr["base"]["repo"], FULL_NAME, REPO_ID)
    head_name = "forker/ml-model" if fork else FULL_NAME
    head_repo = _repository(pr["head"]["repo"], head_name, 777 if fork else REPO_ID)
    pr["number"] = payload["number"] = number
    pr["head"].update(sha=HEAD_SHA, ref="tune-lr", repo=head_repo)
    pr["base"].update(sha=BASE_SHA, ref="main", repo=base_repo)
    payload["repository"] = base_repo
    return payload


def workflow_run_payload(*, head_sha: str = HEAD_SHA, list_pr: bool = False) -> dict[str, Any]:
    """A workflow_run "completed" payload: the pull_request run of the fake's pull request.

    GitHub lists no pull request for a run from a fork (``list_pr=False``); the number then
    comes from the artifact.
    """
    payload = load_event("workflow_run.completed")
    run = payload["workflow_run"]
    repo = _repository(run["repository"], FULL_NAME, REPO_ID)
    run.update(id=RUN_ID, event="pull_request", head_sha=head_sha, head_branch="tune-lr",
               repository=repo, head_repository=_repository(run["head_repository"],
                                                            "forker/ml-model", 777))
    pulls = run["pull_requests"][:1]
    if list_pr and pulls:
        pulls[0]["number"] = PR_NUMBER
        pulls[0]["head"]["sha"] = head_sha
        pulls[0]["base"]["repo"]["id"] = REPO_ID
        run["pull_requests"] = pulls
    else:
        run["pull_requests"] = []
    payload["repository"] = repo
    return payload


def actions_env(
    api: FakeGitHub,
    tmp_path: Path,
    event_name: str,
    payload: dict[str, Any],
    *,
    token: str | None = None,
    workspace: Path | None = None,
    run_id: int = 4242,
) -> dict[str, str]:
    """What the runner sets for a step, pointed at the fake; file commands in *tmp_path*."""
    event = tmp_path / "runner" / "event.json"
    event.parent.mkdir(parents=True, exist_ok=True)
    event.write_text(json.dumps(payload), encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": FULL_NAME,
        "GITHUB_RUN_ID": str(run_id),
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_REF": f"refs/pull/{PR_NUMBER}/merge",
        "GITHUB_WORKFLOW": "mlops",
        "GITHUB_JOB": "model",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_SERVER_URL": api.origin,
        "GITHUB_API_URL": api.url,
        "GITHUB_OUTPUT": str(tmp_path / "runner" / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "runner" / "summary"),
    }
    if event_name == "pull_request":
        env.update(GITHUB_BASE_REF="main", GITHUB_HEAD_REF="tune-lr")
    if workspace is not None:
        env["GITHUB_WORKSPACE"] = str(workspace)
    if token is not None:
        env["GITHUB_TOKEN"] = token
    return env
