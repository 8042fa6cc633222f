"""The model registry of a repository on GitHub, read through the REST API (no clone).

``mlops-ci fetch --repo OWNER/NAME`` runs where there is no checkout. The tags are read with
two of GitHub's git-database endpoints and turned into the same :class:`~mlops_ci.registry.TagRef`
records that ``git for-each-ref`` gives :func:`~mlops_ci.registry.read_registry`, then handed
to the same pure :func:`~mlops_ci.registry.build_registry` — so both sources resolve alike:

- ``GET /repos/{o}/{r}/git/matching-refs/tags``: every tag ref. GitHub answers it whole (it
  ignores ``per_page``); a ``Link: rel="next"`` is followed should one come, never built.
- ``GET /repos/{o}/{r}/git/tags/{sha}`` for each ref that points at a tag object (an annotated
  tag): its tagger date, tagger name, message and the object it tags. A ref that points at a
  commit is a lightweight tag, which GTO ignores; a tag of a tag or of a tree is ignored too.
  Every tag name still counts towards the next counter, as locally.
- ``GET /repos/{o}/{r}/git/commits/{sha}``, only for the commits of an artifact that carries
  a ``@deprecated`` tag: GTO's deprecation rule compares with the commits' dates.

A tag's fields are untrusted text: they become data (a name, a date, a message) and nothing else.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from mlops_ci.errors import GitHubError
from mlops_ci.github.client import GitHubClient
from mlops_ci.registry import Registry, TagRef, build_registry
from mlops_ci.registry_tags import Action, try_parse_tag

MAX_PAGES = 100  # a registry of more tag pages than this is not one we can read in a job
MAX_TAGS = 10_000
_SHA = re.compile(r"[0-9a-f]{40}")
# The signature git appends to a signed tag's message; the local reader drops it too.
_SIGNATURE = re.compile(r"\n?-----BEGIN (PGP|SSH) SIGNATURE-----.*\Z", re.DOTALL)


def _date(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise GitHubError(f"GitHub's answer for {what} has no date; cannot order the registry.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GitHubError(f"GitHub's answer for {what} has a date that is not ISO 8601.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _refs(client: GitHubClient, repo: str) -> list[dict[str, Any]]:
    """Every ``refs/tags/*`` ref of *repo*, following ``Link`` headers GitHub may send."""
    url: str | None = f"/repos/{repo}/git/matching-refs/tags"
    seen: set[str] = set()
    refs: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if url is None:
            return refs
        seen.add(url)
        response = client.request("GET", url)
        assert response is not None  # allow_404 is off
        try:
            page = response.json()
        except ValueError:
            page = None
        if not isinstance(page, list):
            raise GitHubError(f"GitHub's list of the tags of {repo} is not a list.")
        refs.extend(item for item in page if isinstance(item, dict))
        if len(refs) > MAX_TAGS:
            raise GitHubError(f"{repo} has more than {MAX_TAGS} tags; mlops-ci reads at most that.")
        url = response.links.get("next", {}).get("url")
        if url in seen:  # a loop: GitHub sent the same page again
            return refs
    raise GitHubError(f"GitHub kept paging the tags of {repo} past {MAX_PAGES} pages.")


def _tag_object(client: GitHubClient, repo: str, name: str, sha: str) -> TagRef | None:
    """The annotated tag *name* (tag object *sha*) as a TagRef; None when it tags no commit."""
    found = client.get_json(f"/repos/{repo}/git/tags/{sha}")
    if not isinstance(found, dict):
        raise GitHubError(f"GitHub's answer for the tag {name!r} of {repo} is not an object.")
    target = found.get("object") or {}
    tagger = found.get("tagger") or {}
    if target.get("type") != "commit" or not _SHA.fullmatch(str(target.get("sha", ""))):
        return None
    message = found.get("message")
    message = message if isinstance(message, str) else ""
    return TagRef(
        name=name,
        commit=str(target["sha"]),
        created=_date(tagger.get("date"), f"the tag {name!r}"),
        tagger=str(tagger.get("name") or ""),
        message=_SIGNATURE.sub("", message).strip(),
    )


def _commit_date(client: GitHubClient, repo: str, sha: str) -> datetime:
    found = client.get_json(f"/repos/{repo}/git/commits/{sha}")
    committer = found.get("committer") if isinstance(found, dict) else None
    return _date((committer or {}).get("date"), f"the commit {sha[:12]}")


def read_remote_registry(client: GitHubClient, repo: str) -> Registry:
    """The registry that the tags of *repo* (OWNER/NAME) on GitHub hold."""
    names: list[str] = []
    annotated: list[TagRef] = []
    for ref in _refs(client, repo):
        full = ref.get("ref")
        target = ref.get("object") or {}
        if not isinstance(full, str) or not full.startswith("refs/tags/"):
            continue
        name = full.removeprefix("refs/tags/")
        names.append(name)
        sha = str(target.get("sha", ""))
        if target.get("type") != "tag" or not _SHA.fullmatch(sha):
            continue  # a lightweight tag: GTO ignores it
        tag = _tag_object(client, repo, name, sha)
        if tag is not None:
            annotated.append(tag)
    return build_registry(_with_commit_dates(client, repo, annotated), names)


def _with_commit_dates(client: GitHubClient, repo: str, tags: list[TagRef]) -> list[TagRef]:
    """*tags*, with the commit date filled in where GTO's deprecation rule reads it."""
    deprecated = set()
    for tag in tags:
        parsed = try_parse_tag(tag.name)
        if parsed is not None and parsed.action is Action.DEPRECATE:
            deprecated.add(parsed.artifact)
    dates: dict[str, datetime] = {}
    out = []
    for tag in tags:
        parsed = try_parse_tag(tag.name)
        if parsed is None or parsed.artifact not in deprecated:
            out.append(tag)
            continue
        if tag.commit not in dates:
            dates[tag.commit] = _commit_date(client, repo, tag.commit)
        out.append(
            TagRef(tag.name, tag.commit, tag.created, tag.tagger, tag.message, dates[tag.commit])
        )
    return out
