"""Git data on the local GitHub API: tag refs, annotated tag objects and commits.

Three read-only endpoints of GitHub's git database, the ones ``mlops_ci.github.tags`` reads a
model registry with:

- ``GET /repos/{o}/{r}/git/matching-refs/{ref}``: the refs under ``refs/{ref}``, all of them in
  one answer (GitHub ignores ``per_page`` on this endpoint, github/docs#3863);
- ``GET /repos/{o}/{r}/git/tags/{tag_sha}``: one annotated tag object;
- ``GET /repos/{o}/{r}/git/commits/{commit_sha}``: one commit object.

Tests arrange the data with :func:`seed_from_git`, which copies every tag of a real git
repository (refs, tag objects with their tagger dates and messages, and the tagged commits)
into a repository of the fake, so that the API and ``git for-each-ref`` describe the same tags.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Answer, FakeGitHub, RecordedRequest
    from .state import Principal, Repo


@dataclass
class TagObject:
    sha: str
    tag: str
    message: str
    tagger_name: str
    tagger_email: str
    date: str  # ISO 8601, as GitHub writes it
    object_sha: str
    object_type: str  # "commit", "tag", "tree" or "blob"


@dataclass
class CommitObject:
    sha: str
    message: str
    date: str
    tree: str
    parents: list[str] = field(default_factory=list)


@dataclass
class GitData:
    """One repository's git database, as far as the fake serves it."""

    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # full ref → (type, sha)
    tags: dict[str, TagObject] = field(default_factory=dict)
    commits: dict[str, CommitObject] = field(default_factory=dict)


def _iso(unix: str) -> str:
    return datetime.fromtimestamp(int(unix), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def seed_from_git(repo: Repo, root: Path) -> GitData:
    """Copy every tag of the git repository at *root* into *repo* of the fake; its data."""
    data = repo.git
    data.refs = {k: v for k, v in data.refs.items() if not k.startswith("refs/tags/")}
    listing = _git(root, "for-each-ref", "--format=%(refname)%00%(objecttype)%00%(objectname)",
                   "refs/tags/")
    for line in listing.splitlines():
        name, kind, sha = line.split("\0")
        data.refs[name] = (kind, sha)
        if kind == "tag":
            _seed_tag(data, root, sha)
        elif kind == "commit":
            _seed_commit(data, root, sha)
    repo.commits |= set(data.commits)
    return data


def _seed_tag(data: GitData, root: Path, sha: str) -> None:
    raw = _git(root, "cat-file", "tag", sha)
    header, _, message = raw.partition("\n\n")
    fields = dict(line.split(" ", 1) for line in header.splitlines())
    who, _, when = fields["tagger"].rpartition(">")
    name, _, email = who.partition(" <")
    data.tags[sha] = TagObject(
        sha=sha,
        tag=fields["tag"],
        message=message,
        tagger_name=name,
        tagger_email=email,
        date=_iso(when.split()[0]),
        object_sha=fields["object"],
        object_type=fields["type"],
    )
    if fields["type"] == "commit":
        _seed_commit(data, root, fields["object"])
    elif fields["type"] == "tag":
        _seed_tag(data, root, fields["object"])


def _seed_commit(data: GitData, root: Path, sha: str) -> None:
    if sha in data.commits:
        return
    out = _git(root, "show", "-s", "--format=%ct%x00%T%x00%P%x00%B", sha)
    date, tree, parents, message = out.split("\0", 3)
    data.commits[sha] = CommitObject(sha, message, _iso(date), tree, parents.split())


# -- GitHub's JSON shapes ----------------------------------------------------------------------


def _object_url(api: str, repo: Repo, kind: str, sha: str) -> str:
    plural = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}[kind]
    return f"{api}/repos/{repo.full_name}/git/{plural}/{sha}"


def _unsigned() -> dict[str, Any]:
    return {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
            "verified_at": None}


def ref_json(api: str, repo: Repo, name: str, kind: str, sha: str) -> dict[str, Any]:
    return {
        "ref": name,
        "node_id": f"REF_{abs(hash(name)) % 10**9}",
        "url": f"{api}/repos/{repo.full_name}/git/{name}",
        "object": {"type": kind, "sha": sha, "url": _object_url(api, repo, kind, sha)},
    }


def tag_json(api: str, repo: Repo, tag: TagObject) -> dict[str, Any]:
    return {
        "node_id": f"TAG_{tag.sha[:12]}",
        "tag": tag.tag,
        "sha": tag.sha,
        "url": _object_url(api, repo, "tag", tag.sha),
        "message": tag.message,
        "tagger": {"date": tag.date, "email": tag.tagger_email, "name": tag.tagger_name},
        "object": {"sha": tag.object_sha, "type": tag.object_type,
                   "url": _object_url(api, repo, tag.object_type, tag.object_sha)},
        "verification": _unsigned(),
    }


def commit_json(api: str, web: str, repo: Repo, commit: CommitObject) -> dict[str, Any]:
    person = {"name": "Octo Cat", "email": "octocat@example.com", "date": commit.date}
    return {
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:12]}",
        "url": _object_url(api, repo, "commit", commit.sha),
        "html_url": f"{web}/{repo.full_name}/commit/{commit.sha}",
        "author": person,
        "committer": person,
        "tree": {"sha": commit.tree, "url": _object_url(api, repo, "tree", commit.tree)},
        "message": commit.message,
        "parents": [
            {"sha": p, "url": _object_url(api, repo, "commit", p),
             "html_url": f"{web}/{repo.full_name}/commit/{p}"}
            for p in commit.parents
        ],
        "verification": _unsigned(),
    }


# -- the operations ----------------------------------------------------------------------------


def list_matching_refs(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                       principal: Principal | None, record: RecordedRequest) -> Answer:
    from .server import Answer

    prefix = f"refs/{params['ref']}"
    refs = [
        ref_json(fake.url, repo, name, kind, sha)
        for name, (kind, sha) in sorted(repo.git.refs.items())
        if name.startswith(prefix)
    ]
    return Answer(200, refs)


def get_tag(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
            principal: Principal | None, record: RecordedRequest) -> Answer:
    from .server import Answer, ApiError

    tag = repo.git.tags.get(params["tag_sha"])
    if tag is None:
        raise ApiError(404, "Not Found")
    return Answer(200, tag_json(fake.url, repo, tag))


def get_commit(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
               principal: Principal | None, record: RecordedRequest) -> Answer:
    from .server import Answer, ApiError

    commit = repo.git.commits.get(params["commit_sha"])
    if commit is None:
        raise ApiError(404, "Not Found")
    return Answer(200, commit_json(fake.url, fake.origin, repo, commit))


MATCHING_REFS = "GET /repos/{owner}/{repo}/git/matching-refs/{ref}"
GET_TAG = "GET /repos/{owner}/{repo}/git/tags/{tag_sha}"
GET_COMMIT = "GET /repos/{owner}/{repo}/git/commits/{commit_sha}"
ROUTES = {MATCHING_REFS: list_matching_refs, GET_TAG: get_tag, GET_COMMIT: get_commit}
