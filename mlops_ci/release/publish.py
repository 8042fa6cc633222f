"""Publish a release on GitHub so that a fault or a re-run never leaves it half done.

GitHub's immutable releases refuse any asset change once a release is published (422), and a
deleted immutable release burns its tag for good. So nothing is ever fixed after publishing:

1. find the release for the tag, drafts included; a published one is only *verified* (the same
   asset names, the same sha256s) and never rewritten; none → create a **draft**;
2. on the draft: delete assets that are not ours or not complete (``starter``), keep an asset
   whose sha256 (GitHub's ``digest``, or the hash of its download when GitHub gives none)
   equals the local file's, replace one that differs (delete, then upload), upload what is
   missing;
3. after an upload that may or may not have happened (a reset, a 5xx) or a 422 on its name,
   list the assets again: a complete asset with the right sha256 counts, anything else under
   that name is deleted and uploaded again, at most :data:`MAX_UPLOAD_ATTEMPTS` times;
4. list the assets once more and check every one against the local sha256, then publish
   (``draft: false``; a prerelease, or a release the caller says is not the highest, is
   not made the latest release).

A run stopped anywhere leaves at most a draft, which the next run for the tag completes; no
asset is ever uploaded twice under one name. See docs/github.md, "Publishing releases".
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import GitHubError, InputError
from mlops_ci.github.errors import GitHubUncertainWriteError, GitHubValidationError
from mlops_ci.github.releases import (
    asset_sha256,
    create_release,
    delete_asset,
    download_asset,
    find_release,
    list_assets,
    update_release,
    upload_asset,
)
from mlops_ci.release.bundle import name_problem, sha256_file

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient

log = logging.getLogger(__name__)

MAX_BODY = 125_000  # GitHub's limit on a release body, in characters
MAX_ASSETS = 1000  # GitHub's limit on the assets of one release
MAX_ASSET_BYTES = 2 * 1024**3  # GitHub: each asset under 2 GiB
MAX_UPLOAD_ATTEMPTS = 3
# GitHub renames an asset whose name holds other characters (or starts with a dot), and a
# renamed asset would never be found again under its name: such names are refused up front.
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass(frozen=True)
class PublishResult:
    release_id: int
    html_url: str
    uploaded: tuple[str, ...] = ()  # names that were missing and were uploaded
    skipped: tuple[str, ...] = ()  # names already there with the same sha256
    replaced: tuple[str, ...] = ()  # names whose asset differed and was uploaded again
    already_published: bool = False  # the release was published before this run: verified


def publish_release(
    client: GitHubClient,
    repo: str,
    *,
    tag: str,
    name: str,
    body: str,
    prerelease: bool,
    files: Mapping[str, Path],
    target_commitish: str | None = None,
    make_latest: bool | None = None,
) -> PublishResult:
    """Publish *files* (asset name → local path) as the release for *tag* in *repo*.

    *make_latest*: whether GitHub shows it as the Latest release (``make_latest``); the
    caller decides (a backport of an older line is not), None: every non-prerelease is.

    Raises InputError before any request for a body over GitHub's limit or an asset name
    GitHub would change, and when a published release holds different assets; GitHubError
    when GitHub refuses or keeps failing (the release then stays a draft, for a re-run).
    """
    local = _check_inputs(tag, body, files)
    release = find_release(client, repo, tag)
    if release is None:
        release = _create_draft(client, repo, tag=tag, name=name, body=body,
                                prerelease=prerelease, target_commitish=target_commitish)
    release_id = int(release["id"])
    if not release.get("draft"):
        _verify_published(client, repo, release, local)
        return PublishResult(release_id, str(release.get("html_url", "")),
                             skipped=tuple(sorted(local)), already_published=True)

    uploaded: list[str] = []
    skipped: list[str] = []
    replaced: list[str] = []
    remote: dict[str, dict[str, Any]] = {}
    for asset in list_assets(client, repo, release_id):
        asset_name = str(asset.get("name"))
        if asset_name not in local or asset.get("state") != "uploaded":
            log.info("Deleting asset %s of the draft release %s (%s)", _shown(asset_name), tag,
                     "not in this release" if asset_name not in local else "incomplete")
            delete_asset(client, repo, int(asset["id"]))
        else:
            remote[asset_name] = asset
    for asset_name, sha in local.items():
        existing = remote.get(asset_name)
        if existing is not None:
            if _remote_sha256(client, repo, existing) == sha:
                skipped.append(asset_name)
                continue
            log.info("Replacing asset %s of the draft release %s", asset_name, tag)
            delete_asset(client, repo, int(existing["id"]))
            replaced.append(asset_name)
        else:
            uploaded.append(asset_name)
        _upload(client, repo, release, asset_name, files[asset_name], sha)

    _check_draft(client, repo, release_id, tag, local)
    latest = (not prerelease) if make_latest is None else (make_latest and not prerelease)
    fields: dict[str, Any] = {"draft": False, "name": name, "body": body,
                              "prerelease": prerelease,
                              "make_latest": "true" if latest else "false"}
    if target_commitish:
        fields["target_commitish"] = target_commitish
    published = update_release(client, repo, release_id, **fields)
    return PublishResult(release_id, str(published.get("html_url", "")), tuple(uploaded),
                         tuple(skipped), tuple(replaced), already_published=False)


def _check_inputs(tag: str, body: str, files: Mapping[str, Path]) -> dict[str, str]:
    """The local sha256 of every file, by name (sorted); InputError for what GitHub refuses."""
    if not tag.strip():
        raise InputError("The release tag is empty; give the tag to publish, like v1.2.0.")
    if len(body) > MAX_BODY:
        raise InputError(
            f"The release notes are {len(body):,} characters, over GitHub's limit of "
            f"{MAX_BODY:,} for a release body; shorten them."
        )
    if not files:
        raise InputError(f"The release {tag} has no files to publish.")
    if len(files) > MAX_ASSETS:
        raise InputError(f"The release {tag} has {len(files)} files; GitHub takes at most "
                         f"{MAX_ASSETS} assets per release.")
    local: dict[str, str] = {}
    for asset_name in sorted(files):
        problem = name_problem(asset_name)
        if problem:
            raise InputError(f"The release asset name {asset_name!r} {problem}; rename the file.")
        if not _ASSET_NAME.fullmatch(asset_name) or asset_name.endswith("."):
            raise InputError(
                f"The release asset name {asset_name!r} holds characters GitHub replaces "
                "(only letters, digits, '.', '_', '-' and '+', not first or last '.'); rename "
                "the file."
            )
        path = files[asset_name]
        local[asset_name] = sha256_file(path)
        if path.stat().st_size >= MAX_ASSET_BYTES:
            raise InputError(f"The release asset {asset_name} ({path}) is 2 GiB or more, "
                             "over GitHub's limit for one asset.")
    return local


def _create_draft(client: GitHubClient, repo: str, *, tag: str, name: str, body: str,
                  prerelease: bool, target_commitish: str | None) -> dict[str, Any]:
    """A new draft; after an uncertain failure, the draft GitHub made anyway, if it did."""
    try:
        return create_release(client, repo, tag=tag, name=name, body=body, draft=True,
                              prerelease=prerelease, target_commitish=target_commitish)
    except GitHubUncertainWriteError:
        found = find_release(client, repo, tag)
        if found is not None:
            return found
        return create_release(client, repo, tag=tag, name=name, body=body, draft=True,
                              prerelease=prerelease, target_commitish=target_commitish)


def _upload(client: GitHubClient, repo: str, release: dict[str, Any], asset_name: str,
            path: Path, sha: str) -> None:
    """Upload one asset until a complete asset with *sha* stands under its name."""
    failure = ""
    for attempt in range(1, MAX_UPLOAD_ATTEMPTS + 1):
        log.info("Uploading %s (attempt %d)", asset_name, attempt)
        try:
            asset = upload_asset(client, release, path, name=asset_name)
        except (GitHubUncertainWriteError, GitHubValidationError) as exc:
            failure = str(exc)
        else:
            reported = asset_sha256(asset)
            if asset.get("state") == "uploaded" and reported in (None, sha):
                return
            failure = f"GitHub reports sha256 {reported} for it, not {sha}"
        # Look before uploading again: the failed attempt may have stored the asset whole, or
        # left a starter (or a wrong) asset under the name, which would answer 422.
        listed = next((a for a in list_assets(client, repo, int(release["id"]))
                       if a.get("name") == asset_name), None)
        if listed is not None:
            if listed.get("state") == "uploaded" and _remote_sha256(client, repo, listed) == sha:
                return
            if attempt < MAX_UPLOAD_ATTEMPTS:  # after the last, the next run deletes it
                delete_asset(client, repo, int(listed["id"]))
    raise GitHubError(
        f"Uploading the release asset {asset_name} failed {MAX_UPLOAD_ATTEMPTS} times (last: "
        f"{failure}). The release stays a draft: re-run the job to complete it."
    )


def _remote_sha256(client: GitHubClient, repo: str, asset: dict[str, Any]) -> str:
    """GitHub's sha256 for *asset*; when it reports none, the sha256 of its download."""
    reported = asset_sha256(asset)
    if reported is not None:
        return reported
    with tempfile.TemporaryDirectory(prefix="mlops-ci-asset-") as tmp:
        target = Path(tmp) / "asset"
        download_asset(client, repo, asset, target, progress=False)
        return sha256_file(target)


def _check_draft(client: GitHubClient, repo: str, release_id: int, tag: str,
                 local: Mapping[str, str]) -> None:
    """Refuse to publish unless the draft holds exactly the local files, byte for byte."""
    problems = _differences(client, repo, list_assets(client, repo, release_id), local)
    if problems:
        raise GitHubError(
            f"The draft release {tag} does not hold what was uploaded ({'; '.join(problems)}); "
            "it was not published. Re-run the job to complete it."
        )


def _verify_published(client: GitHubClient, repo: str, release: dict[str, Any],
                      local: Mapping[str, str]) -> None:
    problems = _differences(client, repo, list_assets(client, repo, int(release["id"])), local)
    if problems:
        tag = release.get("tag_name")
        raise InputError(
            f"The release {tag} is already published and differs from this one "
            f"({'; '.join(problems)}). A published release is never rewritten (an immutable "
            "release cannot be): publish these files as a new version."
        )


def _differences(client: GitHubClient, repo: str, assets: list[Any],
                 local: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for asset in assets:
        asset_name = str(asset.get("name"))
        seen.add(asset_name)
        if asset_name not in local:
            problems.append(f"{_shown(asset_name)} is there but not in the local files")
        elif asset.get("state") != "uploaded":
            problems.append(f"{asset_name} was never completely uploaded")
        elif _remote_sha256(client, repo, asset) != local[asset_name]:
            problems.append(f"{asset_name} differs from the local file")
    problems += [f"{n} is missing" for n in sorted(set(local) - seen)]
    return problems


def _shown(name: str) -> str:
    """An asset name from GitHub (anyone with write access chose it), quoted and bounded."""
    return repr(name[:80] + ("…" if len(name) > 80 else ""))
