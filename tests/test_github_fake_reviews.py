"""The fake's reviews and merged pull requests (github_fake/reviews.py), checked against the
OpenAPI description like every other answer (the fixture fails on a shape it breaks)."""

from __future__ import annotations

import pytest

from github_fake.reviews import add_review, merge_pull
from github_fake.server import FakeGitHub
from github_fake.state import BOT_TOKEN, OWNER, PR_NUMBER, REPO
from mlops_ci.github.client import GitHubClient
from mlops_ci.release.approve import Refused, check_approvals, count_approvals

MERGE_SHA = "c" * 40


def test_reviews_are_listed_oldest_first_and_paginated(github_api: FakeGitHub) -> None:
    state, repo = github_api.state, github_api.state.repo()
    octocat = state.users["octocat"]
    for review_state in ["COMMENTED", "APPROVED"] * 60:
        add_review(state, repo, PR_NUMBER, octocat, review_state)
    with GitHubClient(github_api.url, BOT_TOKEN) as client:
        reviews = list(client.paginate(f"/repos/{OWNER}/{REPO}/pulls/{PR_NUMBER}/reviews"))
    assert len(reviews) == 120 and reviews[1]["state"] == "APPROVED"
    assert len(github_api.calls("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews")) == 2
    assert count_approvals(reviews) == 1  # one reviewer, however often


def test_a_merged_pull_request_is_listed_for_its_merge_commit(github_api: FakeGitHub) -> None:
    state, repo = github_api.state, github_api.state.repo()
    with GitHubClient(github_api.url, BOT_TOKEN) as client:
        path = f"/repos/{OWNER}/{REPO}/commits/{MERGE_SHA}/pulls"
        assert list(client.paginate(path)) == []
        merge_pull(state, repo, PR_NUMBER, MERGE_SHA)
        (pull,) = client.paginate(path)
        assert pull["merged_at"] and pull["merge_commit_sha"] == MERGE_SHA
        assert client.get_json(f"/repos/{OWNER}/{REPO}/pulls/{PR_NUMBER}")["merged"] is True


def test_latest_decisive_review_per_reviewer_counts(github_api: FakeGitHub) -> None:
    state, repo = github_api.state, github_api.state.repo()
    merge_pull(state, repo, PR_NUMBER, MERGE_SHA)
    alice, bob = state.add_user("alice", 7001), state.add_user("bob", 7002)
    add_review(state, repo, PR_NUMBER, alice, "CHANGES_REQUESTED")
    add_review(state, repo, PR_NUMBER, alice, "APPROVED")  # alice changed her mind
    add_review(state, repo, PR_NUMBER, bob, "APPROVED")
    add_review(state, repo, PR_NUMBER, bob, "DISMISSED")  # bob's approval was dismissed
    with GitHubClient(github_api.url, BOT_TOKEN) as client:
        assert check_approvals(client, f"{OWNER}/{REPO}", MERGE_SHA, 1) == 1
        with pytest.raises(Refused, match="has 1 approving review\\b"):
            check_approvals(client, f"{OWNER}/{REPO}", MERGE_SHA, 2)


def test_a_review_carries_its_author_association_and_outsiders_do_not_count(
    github_api: FakeGitHub,
) -> None:
    """The fake's review serves the author_association a test sets (NONE: an outsider), and
    count_approvals counts only reviewers with write access, of the given head commit."""
    state, repo = github_api.state, github_api.state.repo()
    outsider, member = state.add_user("outsider", 7101), state.add_user("member", 7102)
    add_review(state, repo, PR_NUMBER, outsider, "APPROVED", author_association="NONE")
    add_review(state, repo, PR_NUMBER, member, "APPROVED")
    with GitHubClient(github_api.url, BOT_TOKEN) as client:
        reviews = list(client.paginate(f"/repos/{OWNER}/{REPO}/pulls/{PR_NUMBER}/reviews"))
    assert [r["author_association"] for r in reviews] == ["NONE", "MEMBER"]
    head = repo.issues[PR_NUMBER].head_sha
    assert count_approvals(reviews) == 1
    assert count_approvals(reviews, head_sha=head) == 1
    assert count_approvals(reviews, head_sha="f" * 40) == 0
