"""Who, where and what triggered this run, read from the GitHub Actions environment.

The environment is passed in as a mapping (tests pass a dict). The runner's own variables are
trusted; the event payload at ``GITHUB_EVENT_PATH`` is not: anyone who can open a pull request
writes parts of it (branch names, titles, the head repository). Every value taken from it is
type-checked here and is only ever used as data, never evaluated or rendered as a template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlops_ci.errors import InputError
from mlops_ci.files import read_json

DEFAULT_SERVER_URL = "https://github.com"
DEFAULT_API_URL = "https://api.github.com"

# Events whose payload carries the pull request itself. pull_request_target runs get the same
# pull_request webhook payload, but in the context of the base repository.
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})

_SHA = re.compile(r"[0-9a-fA-F]{40}")
_FULL_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_EVENT_NAME = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class RunnerContext:
    """One GitHub Actions run, as far as mlops-ci needs to know it.

    The ``pr_*`` fields are None outside pull requests. For ``workflow_run`` (the second
    workflow of the fork-safe pattern) they describe the pull request of the run that
    triggered this one, ``pr_from_workflow_run`` is True and ``workflow_run_id`` names that
    run; its ``pr_number`` is None when GitHub did not list the PR (always so for forks), and
    the number has to come from elsewhere, e.g. an artifact.
    """

    event_name: str
    repository: str  # owner/name of the repository the workflow runs in
    owner: str
    repo: str
    server_url: str
    api_url: str
    run_id: int
    run_attempt: int
    run_url: str
    workflow: str
    job: str
    sha: str
    ref: str
    head_ref: str | None
    base_ref: str | None
    pr_number: int | None
    pr_head_sha: str | None
    pr_base_sha: str | None
    pr_head_repo: str | None  # owner/name; None when the head repository was deleted
    is_fork: bool
    actor: str
    step_summary_path: Path | None
    output_path: Path | None
    pr_from_workflow_run: bool = False
    workflow_run_id: int | None = None
    workflow_run_event: str | None = None  # the event that triggered that run


@dataclass(frozen=True)
class _PullRequest:
    number: int | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    head_repo: str | None = None
    is_fork: bool = False
    from_workflow_run: bool = False
    workflow_run_id: int | None = None
    workflow_run_event: str | None = None


def read_context(env: Mapping[str, str]) -> RunnerContext | None:
    """The run's context, or None outside GitHub Actions (``GITHUB_ACTIONS`` is not "true").

    Raises InputError when a variable the runner always sets is missing or malformed, or when
    the event payload is unreadable or holds a value of the wrong shape.
    """
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    repository = _required(env, "GITHUB_REPOSITORY")
    if not _FULL_NAME.fullmatch(repository):
        raise InputError(
            f"GITHUB_REPOSITORY is {_show(repository)}, not owner/name. It is set by GitHub "
            "Actions; check that no step overrides it."
        )
    owner, repo = repository.split("/")
    event_name = _required(env, "GITHUB_EVENT_NAME")
    sha = _required(env, "GITHUB_SHA")
    if not _SHA.fullmatch(sha):
        raise InputError(f"GITHUB_SHA is {_show(sha)}, not a 40-character commit SHA.")
    server_url = _url(env, "GITHUB_SERVER_URL", DEFAULT_SERVER_URL)
    api_url = _url(env, "GITHUB_API_URL", DEFAULT_API_URL)
    run_id = _env_int(env, "GITHUB_RUN_ID", None)
    run_attempt = _env_int(env, "GITHUB_RUN_ATTEMPT", 1)
    run_url = f"{server_url}/{repository}/actions/runs/{run_id}"
    if run_attempt > 1:
        run_url += f"/attempts/{run_attempt}"

    if event_name in PULL_REQUEST_EVENTS:
        pr = _from_pull_request(_load_payload(env, event_name), repository)
    elif event_name == "workflow_run":
        pr = _from_workflow_run(_load_payload(env, event_name), repository)
    else:
        pr = _PullRequest()  # push, workflow_dispatch, schedule, ...: no pull request

    return RunnerContext(
        event_name=event_name,
        repository=repository,
        owner=owner,
        repo=repo,
        server_url=server_url,
        api_url=api_url,
        run_id=run_id,
        run_attempt=run_attempt,
        run_url=run_url,
        workflow=env.get("GITHUB_WORKFLOW", ""),
        job=env.get("GITHUB_JOB", ""),
        sha=sha.lower(),
        ref=env.get("GITHUB_REF", ""),
        head_ref=env.get("GITHUB_HEAD_REF") or None,
        base_ref=env.get("GITHUB_BASE_REF") or None,
        pr_number=pr.number,
        pr_head_sha=pr.head_sha,
        pr_base_sha=pr.base_sha,
        pr_head_repo=pr.head_repo,
        is_fork=pr.is_fork,
        actor=env.get("GITHUB_ACTOR", ""),
        step_summary_path=_env_path(env, "GITHUB_STEP_SUMMARY"),
        output_path=_env_path(env, "GITHUB_OUTPUT"),
        pr_from_workflow_run=pr.from_workflow_run,
        workflow_run_id=pr.workflow_run_id,
        workflow_run_event=pr.workflow_run_event,
    )


# --- the runner's variables ---

def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise InputError(
            f"{name} is not set, though GITHUB_ACTIONS is \"true\". GitHub Actions sets it on "
            "every run; outside Actions, unset GITHUB_ACTIONS."
        )
    return value


def _env_int(env: Mapping[str, str], name: str, default: int | None) -> int:
    text = env.get(name, "")
    if not text and default is not None:
        return default
    text = _required(env, name)
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise InputError(f"{name} is {_show(text)}, not a positive whole number.")
    return int(text)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    """A URL variable without a trailing slash; one that carries credentials is refused.

    requests would send ``user:password@`` as Basic auth instead of the token, and the URL
    shows in messages and in the comment's links.
    """
    from mlops_ci.github.tokens import without_credentials

    url = (env.get(name) or default).rstrip("/")
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        raise InputError(f"{name} is {_show(url)}, not a URL.") from None
    if "@" in netloc:
        raise InputError(
            f"{name} carries credentials (user:password@): "
            f"{without_credentials(url)} without them. mlops-ci authenticates with the token "
            f"alone; remove the credentials from {name}."
        )
    return url


def _env_path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "")
    return Path(value) if value else None


# --- the event payload (untrusted) ---

class _Payload:
    """The parsed payload plus where it came from, so that every error can name the file."""

    def __init__(self, data: dict[str, Any], path: str, event_name: str):
        self.data = data
        self.path = path
        self.event_name = event_name

    def error(self, where: str, value: Any, expected: str) -> InputError:
        shown = "missing" if value is None else _show(value)
        return InputError(
            f"The {self.event_name} event payload {self.path} (GITHUB_EVENT_PATH) has {where} "
            f"= {shown}; expected {expected}."
        )

    def number(self, value: Any, where: str) -> int:
        # bool is an int in Python; JSON true is not a PR number.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(where, value, "a positive integer")
        return value

    def sha(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _SHA.fullmatch(value):
            raise self.error(where, value, "a 40-character hexadecimal commit SHA")
        return value.lower()

    def repo_full_name(self, value: Any, where: str) -> str | None:
        """A repository object's full_name; None when the repository is null (deleted)."""
        if value is None:
            return None
        full_name = value.get("full_name") if isinstance(value, dict) else None
        if not isinstance(full_name, str) or not _FULL_NAME.fullmatch(full_name):
            raise self.error(f"{where}.full_name", full_name, "owner/name")
        return full_name

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, value, "an object")
        return value


def _load_payload(env: Mapping[str, str], event_name: str) -> _Payload:
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        raise InputError(
            f"GITHUB_EVENT_PATH is not set, so the {event_name} event payload cannot be read. "
            "GitHub Actions sets it on every run; check that no step overrides it."
        )
    named = f"The event payload {path} named by GITHUB_EVENT_PATH"
    data = read_json(
        Path(path),
        label=named,
        missing="does not exist. GitHub Actions writes it for every run; check that no earlier "
        "step deleted it or changed GITHUB_EVENT_PATH.",
    )
    if not isinstance(data, dict):
        raise InputError(f"{named} holds a JSON {type(data).__name__}, not an object.")
    return _Payload(data, path, event_name)


def _same_repo(a: str | None, b: str) -> bool:
    # GitHub owner and repository names are case-insensitive.
    return a is not None and a.lower() == b.lower()


def _from_pull_request(payload: _Payload, repository: str) -> _PullRequest:
    pr = payload.obj(payload.data.get("pull_request"), "pull_request")
    head = payload.obj(pr.get("head"), "pull_request.head")
    base = payload.obj(pr.get("base"), "pull_request.base")
    head_repo = payload.repo_full_name(head.get("repo"), "pull_request.head.repo")
    return _PullRequest(
        number=payload.number(pr.get("number"), "pull_request.number"),
        head_sha=payload.sha(head.get("sha"), "pull_request.head.sha"),
        base_sha=payload.sha(base.get("sha"), "pull_request.base.sha"),
        head_repo=head_repo,
        # The base repository is the one the workflow runs in. A deleted head repository
        # counts as a fork: nothing shows the code came from this repository.
        is_fork=not _same_repo(head_repo, repository),
    )


def _from_workflow_run(payload: _Payload, repository: str) -> _PullRequest:
    run = payload.obj(payload.data.get("workflow_run"), "workflow_run")
    head_repo = payload.repo_full_name(run.get("head_repository"), "workflow_run.head_repository")
    event = run.get("event")
    if not isinstance(event, str) or not _EVENT_NAME.fullmatch(event):
        raise payload.error("workflow_run.event", event, "an event name")
    pulls = run.get("pull_requests")
    if pulls is None:
        pulls = []
    if not isinstance(pulls, list):
        raise payload.error("workflow_run.pull_requests", pulls, "a list")

    # GitHub lists every pull request whose head matches the run, including pull requests in
    # other repositories (an upstream's PR, when the run happened in a fork). Only a PR whose
    # base is the repository this workflow runs in may be commented on.
    run_repo = run.get("repository")
    repo_id = run_repo.get("id") if isinstance(run_repo, dict) else None
    number = base_sha = None
    for i, item in enumerate(pulls):
        where = f"workflow_run.pull_requests[{i}]"
        entry = payload.obj(item, where)
        base = payload.obj(entry.get("base"), f"{where}.base")
        base_repo = base.get("repo")
        base_repo_id = base_repo.get("id") if isinstance(base_repo, dict) else None
        if not isinstance(repo_id, int) or base_repo_id != repo_id:
            continue
        number = payload.number(entry.get("number"), f"{where}.number")
        base_sha = payload.sha(base.get("sha"), f"{where}.base.sha")
        break

    return _PullRequest(
        number=number,
        head_sha=payload.sha(run.get("head_sha"), "workflow_run.head_sha"),
        base_sha=base_sha,
        head_repo=head_repo,
        is_fork=not _same_repo(head_repo, repository),
        from_workflow_run=True,
        workflow_run_id=payload.number(run.get("id"), "workflow_run.id"),
        workflow_run_event=event,
    )


def _show(value: Any, limit: int = 60) -> str:
    """A short repr for messages: untrusted text never reaches the log raw (no newlines)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
