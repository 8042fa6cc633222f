"""The registry read through the GitHub API equals the one read from the same git tags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tag_repo import TagRepo

from github_fake import USER_TOKEN, FakeGitHub
from github_fake.git_data import GET_COMMIT, GET_TAG, MATCHING_REFS, seed_from_git
from mlops_ci.errors import GitHubError
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.errors import GitHubNotFoundError
from mlops_ci.github.tags import read_remote_registry
from mlops_ci.release.resolve import resolve

REPO = "octo-org/ml-model"


def remote(api: FakeGitHub, repo: TagRepo, token: str | None = None):
    seed_from_git(api.state.repo(), repo.root)
    with GitHubClient(api.url, token) as client:
        return read_remote_registry(client, REPO)


def same(api: FakeGitHub, repo: TagRepo) -> None:
    local, through_api = repo.read(), remote(api, repo)
    assert through_api.artifacts == local.artifacts
    assert through_api.plain == local.plain
    assert sorted(through_api.tag_names) == sorted(local.tag_names)


@pytest.fixture
def repo(tmp_path: Path) -> TagRepo:
    repo = TagRepo(tmp_path / "repo")
    repo.tag("churn@v1.0.0", message="mlops-ci release churn v1.0.0: pass\n\nauc min 0.9: pass")
    repo.tag("churn#prod#1")
    repo.commit("second")
    repo.tag("churn@v1.1.0")
    repo.tag("churn#prod#2")
    repo.tag("churn#staging#3")
    repo.tag("v1.1.0")
    repo.lightweight("churn@v9.0.0")  # ignored by GTO, counted towards the next counter
    repo.lightweight("churn#prod#7")
    return repo


def test_api_and_git_read_the_same_registry(github_api: FakeGitHub, repo: TagRepo):
    registry = remote(github_api, repo)
    # six annotated tags, one request each; the lightweight ones cost none
    assert len(github_api.calls(GET_TAG)) == 6
    assert len(github_api.calls(MATCHING_REFS)) == 1
    same(github_api, repo)
    churn = registry.artifact("churn")
    assert churn is not None and churn.counter == 8
    assert churn.version("v1.0.0").message.startswith("mlops-ci release churn v1.0.0: pass")
    assert churn.stage_version("prod").name == "v1.1.0"


def test_api_and_git_agree_after_rollback_unassign_and_deprecation(
    github_api: FakeGitHub, repo: TagRepo
):
    repo.tag("churn#prod#8", repo.commits[0], message="roll back")
    same(github_api, repo)
    assert resolve(remote(github_api, repo), "churn", stage="prod").version == "v1.0.0"
    repo.tag("churn#prod!#9", repo.commits[0])
    same(github_api, repo)
    assert resolve(remote(github_api, repo), "churn", stage="prod").version == "v1.1.0"
    assert not github_api.calls(GET_COMMIT)  # commit dates only matter for a deprecation
    repo.tag("churn@deprecated")
    same(github_api, repo)
    assert remote(github_api, repo).artifact("churn").deprecated
    assert github_api.calls(GET_COMMIT)


def test_a_tag_of_a_tag_is_ignored_as_locally(github_api: FakeGitHub, repo: TagRepo):
    subprocess.run(["git", "tag", "-a", "-m", "nested", "churn@v2.0.0", "churn@v1.1.0"],
                   cwd=repo.root, check=True, capture_output=True)
    same(github_api, repo)
    assert remote(github_api, repo).artifact("churn").version("v2.0.0") is None


def test_a_private_repository_needs_the_token(github_api: FakeGitHub, repo: TagRepo):
    github_api.state.repo().private = True
    with pytest.raises(GitHubNotFoundError, match="private repository needs a token"):
        remote(github_api, repo)
    registry = remote(github_api, repo, token=USER_TOKEN)
    assert registry.artifact("churn").latest_version.name == "v1.1.0"
    assert all(r.headers.get("authorization") == f"Bearer {USER_TOKEN}"
               for r in github_api.requests[-3:])


def test_no_tags_is_an_empty_registry(github_api: FakeGitHub, tmp_path: Path):
    registry = remote(github_api, TagRepo(tmp_path / "empty"))
    assert registry.artifacts == {} and registry.plain is None


def test_a_tag_object_without_a_date_is_an_error_not_a_crash(
    github_api: FakeGitHub, repo: TagRepo
):
    data = seed_from_git(github_api.state.repo(), repo.root)
    next(iter(data.tags.values())).date = "yesterday"
    with GitHubClient(github_api.url, None) as client, pytest.raises(GitHubError, match="ISO"):
        read_remote_registry(client, REPO)


def test_a_signed_tags_signature_stays_out_of_the_message_as_locally(
    github_api: FakeGitHub, repo: TagRepo, tmp_path: Path
):
    key = tmp_path / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    repo.run("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}",
             "tag", "-s", "churn@v2.0.0", "-m", "Gates passed")
    data = seed_from_git(github_api.state.repo(), repo.root)
    assert any("BEGIN SSH SIGNATURE" in t.message for t in data.tags.values())
    same(github_api, repo)
    assert remote(github_api, repo).artifact("churn").version("v2.0.0").message == "Gates passed"
