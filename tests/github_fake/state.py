"""What the local GitHub API knows: users and tokens, repositories, pull requests, comments.

Tests read and arrange this state directly (``github_api.state``); the server turns it into
JSON shaped like GitHub's (the ``*_json`` functions), and checks those against the OpenAPI
description too, so a shape mistake here fails the test that provoked it.

Timestamps come from a deterministic clock: every write is one second after the previous one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .git_data import GitData

if TYPE_CHECKING:
    from .deployments import Deployment
    from .releases import Release
    from .reviews import Review

# Tokens the fake accepts. The prefixes are GitHub's: ghp_ a personal token, ghs_ an
# installation token such as the GITHUB_TOKEN of a workflow.
USER_TOKEN = "ghp_fakeUserToken0000000000000000000000"
BOT_TOKEN = "ghs_fakeActionsToken000000000000000000"
FORK_TOKEN = "ghs_fakeForkReadOnlyToken0000000000000"

OWNER = "octo-org"
REPO = "ml-model"
PR_NUMBER = 7
ISSUE_NUMBER = 3
HEAD_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
BASE_SHA = "0f8e1a3d2c4b5a6978e1d2c3b4a5968778695a4b"
RUN_ID = 9876543210

_EPOCH = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User" or "Bot"

    @property
    def node_id(self) -> str:
        return f"U_{self.id}"


@dataclass
class Principal:
    """Who a token authenticates, and what it may do."""

    user: User
    can_write: bool = True
    # Installation tokens (GITHUB_TOKEN) are integrations: GET /user answers 403 for them, and
    # only they may create check runs.
    integration: bool = False
    # A classic token's scopes, sent back in X-OAuth-Scopes as GitHub does; None: no header
    # (fine-grained and installation tokens have permissions GitHub does not show).
    scopes: tuple[str, ...] | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: User
    created_at: str
    updated_at: str


@dataclass
class Issue:
    """An issue, or a pull request (every pull request is an issue, as on GitHub)."""

    number: int
    title: str
    user: User
    created_at: str
    pull: bool = False
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    base_sha: str = ""
    state: str = "open"
    comments: list[Comment] = field(default_factory=list)
    # merged pull requests and reviews (github_fake.reviews)
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    reviews: list[Review] = field(default_factory=list)


@dataclass
class WorkflowRun:
    id: int
    head_sha: str
    head_branch: str
    event: str = "pull_request"
    status: str = "in_progress"
    conclusion: str | None = None
    run_number: int = 42
    name: str = "mlops"


@dataclass
class Repo:
    owner: User
    name: str
    id: int
    private: bool = False
    default_branch: str = "main"
    issues: dict[int, Issue] = field(default_factory=dict)
    commits: set[str] = field(default_factory=set)
    git: GitData = field(default_factory=GitData)  # tags and commits (github_fake.git_data)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    # Releases (github_fake.releases): by id; with immutable releases on, publishing freezes a
    # release's assets and deleting it burns its tag for good.
    releases: dict[int, Release] = field(default_factory=dict)
    immutable: bool = False
    burnt_tags: set[str] = field(default_factory=set)
    latest_release_id: int | None = None
    deployments: list[Deployment] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def comments(self, number: int) -> list[Comment]:
        """The comments of issue or pull request ``number``, oldest first."""
        return self.issues[number].comments


class State:
    """Everything the fake GitHub knows. Mutate it only while no request is in flight."""

    def __init__(self) -> None:
        self._clock = itertools.count()
        self._ids = itertools.count(1_000_000_001)
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Principal] = {}
        self.repos: dict[str, Repo] = {}

        octocat = self.add_user("octocat", 583231)
        bot = self.add_user("github-actions[bot]", 41898282, type="Bot")
        org = self.add_user(OWNER, 9919, type="Organization")
        self.tokens[USER_TOKEN] = Principal(octocat, scopes=("repo",))
        self.tokens[BOT_TOKEN] = Principal(bot, integration=True)
        # What a workflow triggered by a pull request from a fork gets: read-only.
        self.tokens[FORK_TOKEN] = Principal(bot, can_write=False, integration=True)

        repo = self.add_repo(org, REPO, 1296269)
        self.add_pull(repo, PR_NUMBER, "Tune the learning rate", octocat, head_ref="tune-lr",
                      head_sha=HEAD_SHA, base_sha=BASE_SHA)
        self.add_issue(repo, ISSUE_NUMBER, "Model drifts on new data", octocat)
        repo.runs[RUN_ID] = WorkflowRun(RUN_ID, HEAD_SHA, "tune-lr")

    # -- arranging -------------------------------------------------------------------------

    def now(self) -> str:
        """The next timestamp of the deterministic clock, in GitHub's format."""
        return (_EPOCH + timedelta(seconds=next(self._clock))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(self, login: str, user_id: int, *, type: str = "User") -> User:
        self.users[login] = User(login, user_id, type)
        return self.users[login]

    def add_repo(self, owner: User, name: str, repo_id: int, **kwargs: Any) -> Repo:
        repo = Repo(owner, name, repo_id, **kwargs)
        self.repos[repo.full_name.lower()] = repo
        return repo

    def add_pull(self, repo: Repo, number: int, title: str, user: User, *, head_ref: str,
                 head_sha: str, base_sha: str, base_ref: str = "main") -> Issue:
        issue = Issue(number, title, user, self.now(), pull=True, head_ref=head_ref,
                      head_sha=head_sha, base_ref=base_ref, base_sha=base_sha)
        repo.issues[number] = issue
        repo.commits |= {head_sha, base_sha}
        return issue

    def add_issue(self, repo: Repo, number: int, title: str, user: User) -> Issue:
        repo.issues[number] = Issue(number, title, user, self.now())
        return repo.issues[number]

    def add_comment(self, repo: Repo, number: int, body: str, user: User) -> Comment:
        stamp = self.now()
        comment = Comment(self.next_id(), number, body, user, stamp, stamp)
        repo.issues[number].comments.append(comment)
        return comment

    # -- looking up ------------------------------------------------------------------------

    def repo(self, owner: str = OWNER, name: str = REPO) -> Repo:
        """A repository by name, case-insensitively as on GitHub; KeyError if unknown."""
        return self.repos[f"{owner}/{name}".lower()]

    def find_comment(self, repo: Repo, comment_id: int) -> Comment | None:
        for issue in repo.issues.values():
            for comment in issue.comments:
                if comment.id == comment_id:
                    return comment
        return None


# -- GitHub's JSON shapes ----------------------------------------------------------------------


@dataclass
class Urls:
    """Where the fake lives: ``api`` is the REST base, ``web`` the html_url base."""

    api: str
    web: str


def user_json(user: User, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/users/{quote(user.login)}"
    html = (
        f"{urls.web}/apps/{user.login.removesuffix('[bot]')}"
        if user.type == "Bot"
        else f"{urls.web}/{user.login}"
    )
    return {
        "login": user.login,
        "id": user.id,
        "node_id": user.node_id,
        "avatar_url": f"{urls.web}/avatars/u/{user.id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": html,
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def private_user_json(user: User, urls: Urls) -> dict[str, Any]:
    """GET /user: the authenticated user's own, private view."""
    return {
        **user_json(user, urls),
        "user_view_type": "private",
        "name": user.login.title(),
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 1,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2011-01-25T18:44:36Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": True,
    }


_REPO_URL_SUFFIXES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def minimal_repo_json(repo: Repo, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}"
    return {
        "id": repo.id,
        "node_id": f"R_{repo.id}",
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user_json(repo.owner, urls),
        "private": repo.private,
        "html_url": f"{urls.web}/{repo.full_name}",
        "description": None,
        "fork": False,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_URL_SUFFIXES.items()},
    }


def repo_json(repo: Repo, urls: Urls) -> dict[str, Any]:
    """The ``repository`` shape (in pull requests' head and base)."""
    host = urls.web.split("://", 1)[1]
    open_issues = sum(issue.state == "open" for issue in repo.issues.values())
    return {
        **minimal_repo_json(repo, urls),
        "clone_url": f"{urls.web}/{repo.full_name}.git",
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{host}:{repo.full_name}.git",
        "svn_url": f"{urls.web}/{repo.full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 108,
        "default_branch": repo.default_branch,
        "open_issues": open_issues,
        "open_issues_count": open_issues,
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "license": None,
        "pushed_at": "2024-05-01T11:00:00Z",
        "created_at": "2023-01-01T00:00:00Z",
        "updated_at": "2024-05-01T11:00:00Z",
    }


def full_repo_json(repo: Repo, urls: Urls, principal: Principal | None) -> dict[str, Any]:
    writes = principal is not None and principal.can_write
    return {
        **repo_json(repo, urls),
        "network_count": 0,
        "subscribers_count": 1,
        "permissions": {"admin": False, "maintain": False, "push": writes, "triage": writes,
                        "pull": True},
    }


def comment_json(repo: Repo, comment: Comment, urls: Urls) -> dict[str, Any]:
    issue = repo.issues[comment.issue_number]
    kind = "pull" if issue.pull else "issues"
    api = f"{urls.api}/repos/{repo.full_name}"
    return {
        "id": comment.id,
        "node_id": f"IC_{comment.id}",
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"{urls.web}/{repo.full_name}/{kind}/{issue.number}#issuecomment-{comment.id}",
        "body": comment.body,
        "user": user_json(comment.user, urls),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "issue_url": f"{api}/issues/{issue.number}",
        "author_association": "OWNER" if comment.user is repo.owner else (
            "NONE" if comment.user.type == "Bot" else "MEMBER"
        ),
        "performed_via_github_app": None,
        "reactions": {
            "url": f"{api}/issues/comments/{comment.id}/reactions",
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0,
            "hooray": 0, "eyes": 0, "rocket": 0,
        },
    }


def _branch_json(repo: Repo, ref: str, sha: str, urls: Urls) -> dict[str, Any]:
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user_json(repo.owner, urls),
        "repo": repo_json(repo, urls),
    }


def pull_simple_json(repo: Repo, pull: Issue, urls: Urls) -> dict[str, Any]:
    """The ``pull-request-simple`` shape, as lists of pull requests return it."""
    api = f"{urls.api}/repos/{repo.full_name}"
    html = f"{urls.web}/{repo.full_name}/pull/{pull.number}"
    links = {
        "self": f"{api}/pulls/{pull.number}",
        "html": html,
        "issue": f"{api}/issues/{pull.number}",
        "comments": f"{api}/issues/{pull.number}/comments",
        "review_comments": f"{api}/pulls/{pull.number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{pull.number}/commits",
        "statuses": f"{api}/statuses/{pull.head_sha}",
    }
    return {
        "url": links["self"],
        "id": 1_000 + pull.number,
        "node_id": f"PR_{pull.number}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": user_json(pull.user, urls),
        "body": None,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pull.created_at,
        "updated_at": pull.created_at,
        "closed_at": pull.merged_at,
        "merged_at": pull.merged_at,
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch_json(repo, pull.head_ref, pull.head_sha, urls),
        "base": _branch_json(repo, pull.base_ref, pull.base_sha, urls),
        "_links": {name: {"href": href} for name, href in links.items()},
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": False,
    }


def pull_json(repo: Repo, pull: Issue, urls: Urls) -> dict[str, Any]:
    """GET /repos/{owner}/{repo}/pulls/{pull_number}: the full ``pull-request`` shape."""
    return {
        **pull_simple_json(repo, pull, urls),
        "merged": pull.merged_at is not None,
        "mergeable": True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "comments": len(pull.comments),
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 10,
        "deletions": 2,
        "changed_files": 2,
    }


def status_json(repo: Repo, status: dict[str, Any], urls: Urls) -> dict[str, Any]:
    return {
        "url": f"{urls.api}/repos/{repo.full_name}/statuses/{status['sha']}",
        "avatar_url": f"{urls.web}/avatars/u/{status['creator'].id}?v=4",
        "id": status["id"],
        "node_id": f"SC_{status['id']}",
        "state": status["state"],
        "description": status["description"],
        "target_url": status["target_url"],
        "context": status["context"],
        "created_at": status["created_at"],
        "updated_at": status["created_at"],
        "creator": user_json(status["creator"], urls),
    }


def actions_app_json(urls: Urls) -> dict[str, Any]:
    """The GitHub Actions app, which owns check runs created with a workflow's token."""
    return {
        "id": 15368,
        "slug": "github-actions",
        "node_id": "MDM6QXBwMTUzNjg=",
        "owner": user_json(User("github", 9919, "Organization"), urls),
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": f"{urls.web}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"checks": "write", "contents": "write", "metadata": "read",
                        "pull_requests": "write", "statuses": "write"},
        "events": ["check_run", "pull_request", "push"],
    }


def check_run_json(repo: Repo, run: dict[str, Any], urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}"
    output = run.get("output") or {}
    pulls = [
        {"id": 1_000 + issue.number, "number": issue.number,
         "url": f"{api}/pulls/{issue.number}",
         "head": {"ref": issue.head_ref, "sha": issue.head_sha,
                  "repo": {"id": repo.id, "url": api, "name": repo.name}},
         "base": {"ref": issue.base_ref, "sha": issue.base_sha,
                  "repo": {"id": repo.id, "url": api, "name": repo.name}}}
        for issue in repo.issues.values()
        if issue.pull and issue.head_sha == run["head_sha"]
    ]
    return {
        "id": run["id"],
        "node_id": f"CR_{run['id']}",
        "head_sha": run["head_sha"],
        "external_id": run.get("external_id", ""),
        "url": f"{api}/check-runs/{run['id']}",
        "html_url": f"{urls.web}/{repo.full_name}/runs/{run['id']}",
        "details_url": run.get("details_url"),
        "status": run["status"],
        "conclusion": run.get("conclusion"),
        "started_at": run.get("started_at"),
        "completed_at": run.get("completed_at"),
        "output": {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": len(output.get("annotations", [])),
            "annotations_url": f"{api}/check-runs/{run['id']}/annotations",
        },
        "name": run["name"],
        "check_suite": {"id": 5_000_000 + run["id"] % 1000},
        "app": actions_app_json(urls),
        "pull_requests": pulls,
    }


def workflow_run_json(repo: Repo, run: WorkflowRun, urls: Urls) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}/actions/runs/{run.id}"
    return {
        "id": run.id,
        "name": run.name,
        "node_id": f"WFR_{run.id}",
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": ".github/workflows/mlops.yml",
        "display_title": run.name,
        "run_number": run.run_number,
        "run_attempt": 1,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": 161335,
        "url": api,
        "html_url": f"{urls.web}/{repo.full_name}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": "2024-05-01T11:59:00Z",
        "updated_at": "2024-05-01T11:59:30Z",
        "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{urls.api}/repos/{repo.full_name}/check-suites/414944374",
        "artifacts_url": f"{api}/artifacts",
        "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "workflow_url": f"{urls.api}/repos/{repo.full_name}/actions/workflows/161335",
        "head_commit": {
            "id": run.head_sha,
            "tree_id": "d23f6eedb1e1b9610bbc754ddb5197bfe7271223",
            "message": "Tune the learning rate",
            "timestamp": "2024-05-01T11:58:00Z",
            "author": {"name": "Octo Cat", "email": "octocat@example.com"},
            "committer": {"name": "Octo Cat", "email": "octocat@example.com"},
        },
        "repository": minimal_repo_json(repo, urls),
        "head_repository": minimal_repo_json(repo, urls),
    }
