"""Pull request reviews and merges on the local GitHub API (``release.require_approvals``).

As GitHub: ``GET /repos/{o}/{r}/pulls/{n}/reviews`` lists a pull request's submitted reviews,
oldest first, paginated; each reviewer may have several (a later one supersedes an earlier
decision, a ``COMMENTED`` review decides nothing). A merged pull request carries ``merged_at``
and ``merge_commit_sha``, and ``GET /repos/{o}/{r}/commits/{sha}/pulls`` lists it for its head
commit and for the commit that merged it (the one a maintainer tags).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .state import Issue, Repo, Urls, User, user_json

if TYPE_CHECKING:
    from .server import Answer, FakeGitHub, RecordedRequest
    from .state import Principal, State

STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED")


@dataclass
class Review:
    id: int
    user: User
    state: str
    commit_id: str
    submitted_at: str
    body: str = ""
    author_association: str = "MEMBER"  # OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, ...


def add_review(state: State, repo: Repo, number: int, user: User, review_state: str, *,
               body: str = "", author_association: str | None = None) -> Review:
    """A review submitted on pull request *number* (APPROVED, CHANGES_REQUESTED, ...), of the
    pull request's head commit; *author_association* defaults to OWNER for the repository's
    owner, MEMBER for anyone else (NONE: an outsider without write access)."""
    if review_state not in STATES:
        raise ValueError(f"unknown review state {review_state!r}; choose one of {STATES}")
    pull = repo.issues[number]
    assert pull.pull, f"#{number} is not a pull request"
    association = author_association or ("OWNER" if user is repo.owner else "MEMBER")
    review = Review(state.next_id(), user, review_state, pull.head_sha, state.now(), body,
                    association)
    pull.reviews.append(review)
    return review


def merge_pull(state: State, repo: Repo, number: int, merge_commit_sha: str) -> Issue:
    """Pull request *number*, merged by the commit *merge_commit_sha*."""
    pull = repo.issues[number]
    pull.state = "closed"
    pull.merged_at = state.now()
    pull.merge_commit_sha = merge_commit_sha
    repo.commits.add(merge_commit_sha)
    return pull


def review_json(repo: Repo, pull: Issue, review: Review, urls: Urls) -> dict[str, Any]:
    html = f"{urls.web}/{repo.full_name}/pull/{pull.number}"
    api = f"{urls.api}/repos/{repo.full_name}/pulls/{pull.number}"
    return {
        "id": review.id,
        "node_id": f"PRR_{review.id}",
        "user": user_json(review.user, urls),
        "body": review.body,
        "state": review.state,
        "html_url": f"{html}#pullrequestreview-{review.id}",
        "pull_request_url": api,
        "_links": {"html": {"href": f"{html}#pullrequestreview-{review.id}"},
                   "pull_request": {"href": api}},
        "submitted_at": review.submitted_at,
        "commit_id": review.commit_id,
        "author_association": review.author_association,
    }


def list_reviews(api: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                 principal: Principal | None, record: RecordedRequest) -> Answer:
    from .server import ApiError

    pull = repo.issues.get(params["pull_number"])
    if pull is None or not pull.pull:
        raise ApiError(404, "Not Found")
    reviews = [review_json(repo, pull, r, api.urls) for r in pull.reviews]
    return api._page(record, repo, params, reviews)


ROUTES = {
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews": list_reviews,
}
