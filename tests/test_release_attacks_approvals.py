"""release.require_approvals counts only what GitHub's own review rules would count.

An approval counts when its reviewer has write access (author_association OWNER, MEMBER or
COLLABORATOR), it is of the pull request's final head commit, and the pull request was merged
into the repository's default branch (release/approve.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from release_repo import ReleaseRepo, build_template, copy_of
from test_release import actions_env, next_release, require_approvals, run_release

from github_fake.reviews import add_review, merge_pull
from github_fake.server import FakeGitHub
from mlops_ci.errors import EXIT_GATE_FAILED


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("hostile-approvals"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def _pull(api: FakeGitHub, merge_sha: str, *, base_ref: str = "main") -> int:
    state = api.state
    repo = state.repo()
    pull = state.add_pull(repo, 12, "Retrain", state.users["octocat"], head_ref="retrain",
                          head_sha="a" * 40, base_sha="b" * 40, base_ref=base_ref)
    merge_pull(state, repo, pull.number, merge_sha)
    return pull.number


def _approve(api: FakeGitHub, number: int, *logins: str, association: str | None = None) -> None:
    state = api.state
    for login in logins:
        user = state.users.get(login) or state.add_user(login, 1000 + len(state.users))
        add_review(state, state.repo(), number, user, "APPROVED", author_association=association)


def test_approvals_by_users_without_write_access_do_not_count(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """Outsiders' approvals (author_association NONE) do not satisfy require_approvals."""
    # On a public repository anyone signed in can submit an APPROVED review; GitHub marks it
    # author_association NONE (or CONTRIBUTOR/FIRST_TIME_CONTRIBUTOR) and branch protection
    # does not count it. Two sock-puppet accounts should not satisfy require_approvals: 2.
    require_approvals(repo, 2)
    sha = next_release(repo, 0.01, "v1.1.0")
    number = _pull(github_api, sha)
    _approve(github_api, number, "sock1", "sock2", association="NONE")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"), dry_run=True)
    assert code == EXIT_GATE_FAILED, (
        f"two approvals by outsiders (author_association NONE) satisfied require_approvals:\n"
        f"{err}"
    )
    assert "has 0 approving reviews" in err
    _approve(github_api, number, "alice", "bob", association="COLLABORATOR")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"), dry_run=True)
    assert code == 0 and "2 approving reviews" in err, err


def test_a_pull_request_merged_into_another_branch_does_not_count(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """Only a pull request merged into the default branch approves the tagged commit."""
    # A collaborator merges their own PR into a scratch branch they control (no branch
    # protection there), has it "approved", and tags the commit: it never reached main.
    require_approvals(repo, 2)
    sha = next_release(repo, 0.01, "v1.1.0")
    _approve(github_api, _pull(github_api, sha, base_ref="scratch"), "alice", "bob")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"), dry_run=True)
    assert code == EXIT_GATE_FAILED, (
        f"a PR merged into 'scratch', not the default branch, satisfied require_approvals:\n"
        f"{err}"
    )
    assert "merged into the default branch (main)" in err and "went into scratch" in err


def test_an_approval_of_an_older_commit_does_not_count(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """An approval counts only when it is of the pull request's head commit as merged."""
    # alice and bob approved the PR at an older head; the author pushed after that and merged.
    require_approvals(repo, 2)
    sha = next_release(repo, 0.01, "v1.1.0")
    number = _pull(github_api, sha)
    _approve(github_api, number, "alice", "bob")
    for review in github_api.state.repo().issues[number].reviews:
        review.commit_id = "c" * 40  # not the PR's final head ("a" * 40)
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"), dry_run=True)
    assert code == EXIT_GATE_FAILED, (
        f"approvals of a commit that is not the PR's final head counted:\n{err}"
    )
