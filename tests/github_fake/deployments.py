"""Deployments and their statuses on the local GitHub API (what the Environments page shows).

As GitHub: a deployment's ``ref`` must name something the repository has (a commit, the
default branch, a release's tag); unless ``auto_merge: false`` GitHub first merges the default
branch into the ref (answered here with GitHub's 202 "Auto-merged" and no deployment, which a
caller that wants the deployment's id must avoid); unless ``required_contexts`` is given, every
commit status of the ref must be a success (409 otherwise). A status's description is at most
140 characters. A ``success`` status marks the environment's earlier successful deployments
``inactive`` (``auto_inactive``, on by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .state import HEAD_SHA, Principal, Repo, Urls, User, user_json

if TYPE_CHECKING:
    from .server import Answer, FakeGitHub, RecordedRequest

MAX_STATUS_DESCRIPTION = 140


@dataclass
class Deployment:
    id: int
    ref: str
    sha: str
    environment: str
    creator: User
    created_at: str
    task: str = "deploy"
    payload: Any = ""
    description: str | None = ""
    transient_environment: bool = False
    production_environment: bool = True
    statuses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str | None:
        return self.statuses[-1]["state"] if self.statuses else None


def deployment_json(repo: Repo, deployment: Deployment, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}"
    return {
        "url": f"{api}/deployments/{deployment.id}",
        "id": deployment.id,
        "node_id": f"DE_{deployment.id}",
        "sha": deployment.sha,
        "ref": deployment.ref,
        "task": deployment.task,
        "payload": deployment.payload,
        "original_environment": deployment.environment,
        "environment": deployment.environment,
        "description": deployment.description,
        "creator": user_json(deployment.creator, urls),
        "created_at": deployment.created_at,
        "updated_at": deployment.created_at,
        "statuses_url": f"{api}/deployments/{deployment.id}/statuses",
        "repository_url": api,
        "transient_environment": deployment.transient_environment,
        "production_environment": deployment.production_environment,
        "performed_via_github_app": None,
    }


def status_json(repo: Repo, deployment: Deployment, status: dict[str, Any],
                urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}"
    return {
        "url": f"{api}/deployments/{deployment.id}/statuses/{status['id']}",
        "id": status["id"],
        "node_id": f"DES_{status['id']}",
        "state": status["state"],
        "creator": user_json(status["creator"], urls),
        "description": status["description"],
        "environment": deployment.environment,
        "target_url": status["log_url"],
        "created_at": status["created_at"],
        "updated_at": status["created_at"],
        "deployment_url": f"{api}/deployments/{deployment.id}",
        "repository_url": api,
        "environment_url": status["environment_url"],
        "log_url": status["log_url"],
        "performed_via_github_app": None,
    }


def _error(status: int, message: str, errors: list[Any] | None = None) -> Exception:
    from .server import ApiError

    return ApiError(status, message, errors)


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    from .server import Answer

    return Answer(status, body, headers or {})


def _resolve(repo: Repo, ref: str) -> str:
    if ref in repo.commits:
        return ref
    if ref in (repo.default_branch, f"refs/heads/{repo.default_branch}"):
        return HEAD_SHA
    for release in repo.releases.values():
        if ref in (release.tag_name, f"refs/tags/{release.tag_name}"):
            target = release.target_commitish
            return target if target in repo.commits else HEAD_SHA
    raise _error(422, f"No ref found for: {ref}")


def _url_or_empty(value: str, name: str) -> str:
    parts = urlsplit(value)
    if value and not (parts.scheme in {"http", "https"} and parts.netloc):
        raise _error(422, "Validation Failed", [
            {"resource": "DeploymentStatus", "code": "custom", "field": name,
             "message": f"{name} must be a valid URL"}])
    return value


def create_deployment(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                      principal: Principal | None, record: RecordedRequest) -> Answer:
    assert principal is not None
    sha = _resolve(repo, body["ref"])
    if body.get("auto_merge", True) and body["ref"] != repo.default_branch:
        return _answer(202, {"message": f"Auto-merged {repo.default_branch} into topic branch."})
    if "required_contexts" not in body:
        failing = [s["context"] for s in repo.statuses
                   if s["sha"] == sha and s["state"] != "success"]
        if failing:
            raise _error(409, "Conflict: Commit status checks failed for "
                              f"{body['ref']}: {', '.join(failing)}.")
    environment = body.get("environment", "production")
    deployment = Deployment(
        fake.state.next_id(), body["ref"], sha, environment, principal.user, fake.state.now(),
        task=body.get("task", "deploy"), payload=body.get("payload", ""),
        description=body.get("description", ""),
        transient_environment=body.get("transient_environment", False),
        production_environment=body.get("production_environment", environment == "production"),
    )
    repo.deployments.append(deployment)
    return _answer(201, deployment_json(repo, deployment, fake.urls))


def _deployment(repo: Repo, deployment_id: int) -> Deployment:
    for deployment in repo.deployments:
        if deployment.id == deployment_id:
            return deployment
    raise _error(404, "Not Found")


def create_status(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                  principal: Principal | None, record: RecordedRequest) -> Answer:
    assert principal is not None
    deployment = _deployment(repo, params["deployment_id"])
    description = body.get("description", "")
    if len(description) > MAX_STATUS_DESCRIPTION:
        raise _error(422, "Validation Failed", [
            {"resource": "DeploymentStatus", "code": "custom", "field": "description",
             "message": f"description is too long (maximum is {MAX_STATUS_DESCRIPTION} "
                        "characters)"}])
    status = {
        "id": fake.state.next_id(), "state": body["state"], "creator": principal.user,
        "description": description, "created_at": fake.state.now(),
        "environment_url": _url_or_empty(body.get("environment_url", ""), "environment_url"),
        "log_url": _url_or_empty(body.get("log_url", body.get("target_url", "")), "log_url"),
    }
    if body["state"] == "success" and body.get("auto_inactive", True):
        for other in repo.deployments:
            if (other is not deployment and other.environment == deployment.environment
                    and other.state == "success"):
                other.statuses.append({**status, "id": fake.state.next_id(),
                                       "state": "inactive", "description": ""})
    deployment.statuses.append(status)
    shaped = status_json(repo, deployment, status, fake.urls)
    return _answer(201, shaped, {"Location": shaped["url"]})


def list_deployments(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                     principal: Principal | None, record: RecordedRequest) -> Answer:
    shown = [
        deployment_json(repo, d, fake.urls) for d in reversed(repo.deployments)
        if all(params.get(key) in (None, getattr(d, key)) for key in
               ("sha", "ref", "task", "environment"))
    ]
    return fake._page(record, repo, params, shown)


def list_statuses(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                  principal: Principal | None, record: RecordedRequest) -> Answer:
    deployment = _deployment(repo, params["deployment_id"])
    shown = [status_json(repo, deployment, s, fake.urls) for s in reversed(deployment.statuses)]
    return fake._page(record, repo, params, shown)


ROUTES = {
    "GET /repos/{owner}/{repo}/deployments": list_deployments,
    "POST /repos/{owner}/{repo}/deployments": create_deployment,
    "GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses": list_statuses,
    "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses": create_status,
}
