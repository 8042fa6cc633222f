"""GitHub Releases and their assets: thin REST calls, one per operation.

``repo`` is ``OWNER/NAME``. A release is GitHub's JSON as a dict; so is an asset. What to do
with them (draft first, verify, publish) is :mod:`mlops_ci.release.publish`'s job; the bytes
travel through :mod:`mlops_ci.github.transfer`.

Needs ``permissions: contents: write`` to create, upload and publish (and to see drafts);
``contents: read`` to download from a private repository.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mlops_ci.errors import GitHubError, InputError
from mlops_ci.github.transfer import admit_upload_url, download_file, upload_file

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient

_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+")
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")


def repo_path(repo: str) -> str:
    """``/repos/OWNER/NAME``; InputError when *repo* is not ``OWNER/NAME``."""
    if not _REPO.fullmatch(repo) or repo.split("/")[1] in {".", ".."}:
        raise InputError(f"The repository {repo!r} is not OWNER/NAME; name it like octo-org/model.")
    return f"/repos/{repo}"


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GitHubError(f"GitHub answered {what} with something that is not an object.")
    return value


def list_releases(client: GitHubClient, repo: str) -> list[dict[str, Any]]:
    """Every release, newest first; drafts included when the token can write."""
    releases = client.paginate(f"{repo_path(repo)}/releases")
    return [_dict(r, "the list of releases") for r in releases]


def find_release(client: GitHubClient, repo: str, tag: str) -> dict[str, Any] | None:
    """The release for *tag*, draft or published; None when there is none.

    A published one is asked for by tag (one request); drafts are found only in the list
    (GitHub's by-tag lookup never returns a draft). Of several drafts for one tag, the one
    created first.
    """
    published = client.get_json(
        f"{repo_path(repo)}/releases/tags/{quote(tag, safe='')}", allow_404=True
    )
    if published is not None:
        return _dict(published, f"the release {tag}")
    drafts = [r for r in list_releases(client, repo) if r.get("tag_name") == tag]
    if not drafts:
        return None
    return min(drafts, key=lambda r: (not r.get("draft"), str(r.get("created_at")),
                                      r.get("id", 0)))


def get_release(client: GitHubClient, repo: str, release_id: int) -> dict[str, Any]:
    return _dict(client.get_json(f"{repo_path(repo)}/releases/{release_id}"), "the release")


def create_release(
    client: GitHubClient,
    repo: str,
    *,
    tag: str,
    name: str,
    body: str,
    draft: bool = True,
    prerelease: bool = False,
    target_commitish: str | None = None,
) -> dict[str, Any]:
    """Create a release (a draft by default). Not repeated after an uncertain failure."""
    fields: dict[str, Any] = {"tag_name": tag, "name": name, "body": body, "draft": draft,
                              "prerelease": prerelease}
    if target_commitish:
        fields["target_commitish"] = target_commitish
    return _dict(client.post_json(f"{repo_path(repo)}/releases", fields), "the new release")


def update_release(
    client: GitHubClient, repo: str, release_id: int, **fields: Any
) -> dict[str, Any]:
    """PATCH the release's fields (``draft=False`` publishes it); GitHub's new JSON."""
    return _dict(client.patch_json(f"{repo_path(repo)}/releases/{release_id}", fields),
                 "the release update")


def list_assets(client: GitHubClient, repo: str, release_id: int) -> list[dict[str, Any]]:
    """The release's assets, complete or not (``state`` other than ``uploaded``)."""
    return [_dict(a, "the list of assets")
            for a in client.paginate(f"{repo_path(repo)}/releases/{release_id}/assets")]


def upload_asset(
    client: GitHubClient,
    release: dict[str, Any],
    path: Path,
    *,
    name: str,
    label: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Upload *path* as asset *name* to *release* (GitHub's JSON, with its ``upload_url``).

    A progress bar on standard error for files of 1 MiB and more, unless ``progress=False``.
    Raises :class:`~mlops_ci.github.errors.GitHubUncertainWriteError` when the upload may or
    may not have happened; 422 (:class:`~mlops_ci.github.errors.GitHubValidationError`) when
    the name is taken, or the release is immutable and published.
    """
    upload_url = release.get("upload_url")
    release_id = release.get("id")
    if not isinstance(upload_url, str) or not isinstance(release_id, int):
        raise GitHubError("GitHub's release has no upload_url; it cannot take assets.")
    url = admit_upload_url(client, upload_url, release_id)
    return upload_file(client, url, path, name=name, label=label, progress=progress)


def delete_asset(client: GitHubClient, repo: str, asset_id: int) -> None:
    client.request("DELETE", f"{repo_path(repo)}/releases/assets/{asset_id}")


def asset_sha256(asset: dict[str, Any]) -> str | None:
    """The hex sha256 GitHub reports for *asset* (its ``digest``), or None when it gives none."""
    digest = asset.get("digest")
    match = _SHA256.fullmatch(digest) if isinstance(digest, str) else None
    return match[1] if match else None


def download_asset(
    client: GitHubClient, repo: str, asset: dict[str, Any], target: Path, *,
    progress: bool = True,
) -> None:
    """Stream *asset* (GitHub's JSON) to *target*, checked against its ``size`` and ``digest``.

    The token goes to the API only, never to the storage GitHub redirects to; more or fewer
    bytes than ``size``, or a different sha256, are refused (InputError) and leave nothing at
    *target*.
    """
    asset_id, size, name = asset.get("id"), asset.get("size"), asset.get("name")
    if not isinstance(asset_id, int) or not isinstance(size, int) or not isinstance(name, str):
        raise GitHubError("GitHub's asset has no id, size or name; it cannot be downloaded.")
    if asset.get("state", "uploaded") != "uploaded":
        raise InputError(
            f"The release asset {name} was never completely uploaded (state "
            f"{asset.get('state')!r}); publish the release again."
        )
    download_file(client, f"{repo_path(repo)}/releases/assets/{asset_id}", target, name=name,
                  size=size, sha256=asset_sha256(asset), progress=progress)
