"""Releases and their assets on the local GitHub API: the state, the JSON, the API operations.

What GitHub does and the fake does too:

- A draft is visible only to a token that can write: listed for it, 404 for everyone else, and
  ``GET /releases/tags/{tag}`` answers 404 for a draft whoever asks. Several drafts may carry
  the same tag (GitHub allows it, which is why a publisher must look for its draft before
  creating one); a second *published* release for a tag is refused with 422 ``already_exists``.
- ``upload_url`` is a URI template on a second origin (``uploads.github.com``; on GitHub
  Enterprise Server ``/api/uploads`` on the API host): see :mod:`github_fake.transfer`, which
  serves uploads and the asset storage.
- A new asset reports ``digest: "sha256:<hex>"``. An asset whose upload failed midway stays
  listed with ``state: "starter"`` until it is deleted; its name is taken meanwhile.
- Immutable releases (``repo.immutable``): publishing a release freezes it: an upload or an
  asset deletion answers 422, so does unpublishing or moving its tag; deleting it burns its tag,
  and a release for a burnt tag answers 422 for good.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .state import Principal, Repo, Urls, User, user_json

if TYPE_CHECKING:
    from .server import Answer, FakeGitHub, RecordedRequest

MAX_RELEASE_BODY = 125_000  # GitHub's limit on a release's body, in characters
UPLOAD = "POST /repos/{owner}/{repo}/releases/{release_id}/assets"
GET_ASSET = "GET /repos/{owner}/{repo}/releases/assets/{asset_id}"


@dataclass
class Asset:
    id: int
    name: str
    content: bytes
    content_type: str
    uploader: User
    created_at: str
    label: str | None = None
    state: str = "uploaded"  # or "starter": an upload that failed midway
    # What GitHub reports; None for an asset uploaded before GitHub computed digests.
    digest: str | None = None
    size: int = -1  # -1: len(content); a test may make the storage send more than this
    download_count: int = 0

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.content)


@dataclass
class Release:
    id: int
    tag_name: str
    target_commitish: str
    author: User
    created_at: str
    name: str | None = None
    body: str | None = None
    draft: bool = False
    prerelease: bool = False
    published_at: str | None = None
    immutable: bool = False
    assets: list[Asset] = field(default_factory=list)

    def asset(self, name: str) -> Asset | None:
        return next((a for a in self.assets if a.name == name), None)


def sha256_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


# -- JSON ---------------------------------------------------------------------------------------


def asset_json(repo: Repo, release: Release, asset: Asset, urls: Urls) -> dict[str, Any]:
    return {
        "url": f"{urls.api}/repos/{repo.full_name}/releases/assets/{asset.id}",
        "browser_download_url": (
            f"{urls.web}/{repo.full_name}/releases/download/{quote(release.tag_name)}/"
            f"{quote(asset.name)}"
        ),
        "id": asset.id,
        "node_id": f"RA_{asset.id}",
        "name": asset.name,
        "label": asset.label,
        "state": asset.state,
        "content_type": asset.content_type,
        "size": asset.size,
        "digest": asset.digest,
        "download_count": asset.download_count,
        "created_at": asset.created_at,
        "updated_at": asset.created_at,
        "uploader": user_json(asset.uploader, urls),
    }


def release_json(repo: Repo, release: Release, urls: Urls, upload_base: str) -> dict[str, Any]:
    api = f"{urls.api}/repos/{repo.full_name}"
    tag = quote(release.tag_name, safe="")
    html_tag = f"untagged-{release.id:x}" if release.draft else tag
    return {
        "url": f"{api}/releases/{release.id}",
        "html_url": f"{urls.web}/{repo.full_name}/releases/tag/{html_tag}",
        "assets_url": f"{api}/releases/{release.id}/assets",
        "upload_url": (
            f"{upload_base}/repos/{repo.full_name}/releases/{release.id}/assets{{?name,label}}"
        ),
        "tarball_url": None if release.draft else f"{api}/tarball/{tag}",
        "zipball_url": None if release.draft else f"{api}/zipball/{tag}",
        "id": release.id,
        "node_id": f"RE_{release.id}",
        "tag_name": release.tag_name,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "body": release.body,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "immutable": release.immutable,
        "created_at": release.created_at,
        "published_at": release.published_at,
        "updated_at": release.published_at or release.created_at,
        "author": user_json(release.author, urls),
        "assets": [asset_json(repo, release, a, urls) for a in release.assets],
    }


# -- rules --------------------------------------------------------------------------------------


def _api_error(status: int, message: str, errors: list[Any] | None = None) -> Exception:
    from .server import ApiError

    return ApiError(status, message, errors)


def can_write(principal: Principal | None) -> bool:
    return principal is not None and principal.can_write


def visible_release(repo: Repo, release_id: int, principal: Principal | None) -> Release:
    release = repo.releases.get(release_id)
    if release is None or (release.draft and not can_write(principal)):
        raise _api_error(404, "Not Found")
    return release


def find_asset(
    repo: Repo, asset_id: int, principal: Principal | None
) -> tuple[Release, Asset]:
    for release in repo.releases.values():
        for asset in release.assets:
            if asset.id == asset_id:
                if release.draft and not can_write(principal):
                    break
                return release, asset
    raise _api_error(404, "Not Found")


def check_body(text: str | None) -> None:
    if text is not None and len(text) > MAX_RELEASE_BODY:
        raise _api_error(422, "Validation Failed", [
            {"resource": "Release", "code": "custom", "field": "body",
             "message": f"body is too long (maximum is {MAX_RELEASE_BODY} characters)"}])


def check_tag_free(repo: Repo, tag: str, release: Release | None = None) -> None:
    """A published release may not take a tag another published release (or a burnt one) has."""
    if tag in repo.burnt_tags:
        raise _api_error(422, "Validation Failed", [
            {"resource": "Release", "code": "custom", "field": "tag_name",
             "message": "tag_name was used by an immutable release"}])
    for other in repo.releases.values():
        if other is not release and not other.draft and other.tag_name == tag:
            raise _api_error(422, "Validation Failed", [
                {"resource": "Release", "code": "already_exists", "field": "tag_name"}])


def refuse_if_frozen(release: Release, what: str) -> None:
    if release.immutable:
        raise _api_error(422, f"Cannot {what} an immutable release")


def publish(repo: Repo, release: Release, now: str, make_latest: str = "true") -> None:
    check_tag_free(repo, release.tag_name, release)
    release.draft = False
    release.published_at = now
    release.immutable = repo.immutable
    if not release.prerelease and make_latest != "false":
        repo.latest_release_id = release.id


def newest_first(repo: Repo) -> list[Release]:
    return sorted(repo.releases.values(), key=lambda r: (r.created_at, r.id), reverse=True)


# -- operations ---------------------------------------------------------------------------------


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    from .server import Answer

    return Answer(status, body, headers or {})


def _json(fake: FakeGitHub, repo: Repo, release: Release) -> dict[str, Any]:
    return release_json(repo, release, fake.urls, fake.transfer.upload_base)


def list_releases(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                  principal: Principal | None, record: RecordedRequest) -> Answer:
    shown = [_json(fake, repo, r) for r in newest_first(repo)
             if not r.draft or can_write(principal)]
    return fake._page(record, repo, params, shown)


def create_release(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                   principal: Principal | None, record: RecordedRequest) -> Answer:
    assert principal is not None
    check_body(body.get("body"))
    draft = body.get("draft", False)
    check_tag_free(repo, body["tag_name"])
    release = Release(
        fake.state.next_id(), body["tag_name"],
        body.get("target_commitish", repo.default_branch), principal.user, fake.state.now(),
        name=body.get("name"), body=body.get("body"), draft=True,
        prerelease=body.get("prerelease", False),
    )
    if not draft:
        publish(repo, release, release.created_at, body.get("make_latest", "true"))
    repo.releases[release.id] = release
    shaped = _json(fake, repo, release)
    return _answer(201, shaped, {"Location": shaped["url"]})


def get_release(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                principal: Principal | None, record: RecordedRequest) -> Answer:
    return _answer(200, _json(fake, repo, visible_release(repo, params["release_id"], principal)))


def get_release_by_tag(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                       principal: Principal | None, record: RecordedRequest) -> Answer:
    for release in newest_first(repo):
        if not release.draft and release.tag_name == unquote(params["tag"]):
            return _answer(200, _json(fake, repo, release))
    raise _api_error(404, "Not Found")


def get_latest_release(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                       principal: Principal | None, record: RecordedRequest) -> Answer:
    release = repo.releases.get(repo.latest_release_id or 0)
    if release is None or release.draft:
        raise _api_error(404, "Not Found")
    return _answer(200, _json(fake, repo, release))


def update_release(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                   principal: Principal | None, record: RecordedRequest) -> Answer:
    release = visible_release(repo, params["release_id"], principal)
    body = body or {}
    check_body(body.get("body"))
    if release.immutable:
        if body.get("draft") is True:
            refuse_if_frozen(release, "unpublish")
        for key in ("tag_name", "target_commitish"):
            if key in body and body[key] != getattr(release, key):
                refuse_if_frozen(release, f"change the {key} of")
    if "tag_name" in body and not release.draft:
        check_tag_free(repo, body["tag_name"], release)
    for key in ("tag_name", "target_commitish", "name", "body", "prerelease"):
        if key in body:
            setattr(release, key, body[key])
    if body.get("draft") is False and release.draft:
        publish(repo, release, fake.state.now(), body.get("make_latest", "true"))
    elif body.get("draft") is True:
        release.draft, release.published_at = True, None
    elif body.get("make_latest") == "true" and not release.draft and not release.prerelease:
        repo.latest_release_id = release.id
    return _answer(200, _json(fake, repo, release))


def delete_release(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                   principal: Principal | None, record: RecordedRequest) -> Answer:
    release = visible_release(repo, params["release_id"], principal)
    if release.immutable:
        repo.burnt_tags.add(release.tag_name)
    del repo.releases[release.id]
    if repo.latest_release_id == release.id:
        repo.latest_release_id = None
    return _answer(204, None)


def list_assets(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                principal: Principal | None, record: RecordedRequest) -> Answer:
    release = visible_release(repo, params["release_id"], principal)
    shown = [asset_json(repo, release, a, fake.urls) for a in release.assets]
    return fake._page(record, repo, params, shown)


def get_asset(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
              principal: Principal | None, record: RecordedRequest) -> Answer:
    release, asset = find_asset(repo, params["asset_id"], principal)
    if "application/octet-stream" in record.headers.get("accept", ""):
        if asset.state != "uploaded":
            raise _api_error(404, "Not Found")
        asset.download_count += 1
        return _answer(302, None, {"Location": fake.transfer.storage_url(asset)})
    return _answer(200, asset_json(repo, release, asset, fake.urls))


def delete_asset(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                 principal: Principal | None, record: RecordedRequest) -> Answer:
    release, asset = find_asset(repo, params["asset_id"], principal)
    refuse_if_frozen(release, "delete assets of")
    release.assets.remove(asset)
    return _answer(204, None)


def upload_on_api_host(fake: FakeGitHub, repo: Repo, params: dict[str, Any], body: Any,
                       principal: Principal | None, record: RecordedRequest) -> Answer:
    """Never reached: :meth:`FakeGitHub.handle` hands uploads to :mod:`github_fake.transfer`."""
    raise AssertionError("uploads are served by github_fake.transfer")


def add_upload(fake: FakeGitHub, repo: Repo, release: Release, principal: Principal,
               name: str, label: str | None, content_type: str, content: bytes,
               *, complete: bool = True) -> Asset:
    """Store an uploaded asset (a ``starter`` one when the upload failed midway)."""
    refuse_if_frozen(release, "upload assets to")
    if release.asset(name) is not None:
        raise _api_error(422, "Validation Failed", [
            {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}])
    asset = Asset(fake.state.next_id(), name, content, content_type, principal.user,
                  fake.state.now(), label=label, state="uploaded" if complete else "starter",
                  digest=sha256_digest(content) if complete else None)
    release.assets.append(asset)
    return asset


ROUTES = {
    "GET /repos/{owner}/{repo}/releases": list_releases,
    "POST /repos/{owner}/{repo}/releases": create_release,
    "GET /repos/{owner}/{repo}/releases/latest": get_latest_release,
    "GET /repos/{owner}/{repo}/releases/tags/{tag}": get_release_by_tag,
    "GET /repos/{owner}/{repo}/releases/{release_id}": get_release,
    "PATCH /repos/{owner}/{repo}/releases/{release_id}": update_release,
    "DELETE /repos/{owner}/{repo}/releases/{release_id}": delete_release,
    "GET /repos/{owner}/{repo}/releases/{release_id}/assets": list_assets,
    UPLOAD: upload_on_api_host,
    GET_ASSET: get_asset,
    "DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}": delete_asset,
}

# Where GitHub's answers break its own description, the fake answers as GitHub does and the
# response check lets exactly those through: the description's asset ``state`` enum is
# ["uploaded", "open"], but GitHub lists an asset whose upload failed midway as "starter" (its
# documentation of the upload says so); a deployment status without those URLs carries "" for
# them, which is no "uri".
_KNOWN_DEVIATIONS = (
    "'starter' is not one of ['uploaded', 'open']",
    "'' is not a 'uri' (at target_url)",
    "'' is not a 'uri' (at environment_url)",
    "'' is not a 'uri' (at log_url)",
)


def tolerated(problem: str | None) -> str | None:
    """A response problem, less the deviations GitHub itself makes (``_KNOWN_DEVIATIONS``)."""
    if problem is None:
        return None
    head, _, rest = problem.partition(": ")
    kept = [p for p in rest.split("; ") if not p.startswith(_KNOWN_DEVIATIONS)]
    return f"{head}: {'; '.join(kept)}" if kept else None


def add_release(fake: FakeGitHub, repo: Repo, *, tag: str, files: dict[str, bytes],
                draft: bool, prerelease: bool, name: str | None, body: str | None,
                target_commitish: str | None) -> int:
    owner = fake.state.users["octocat"]
    release = Release(fake.state.next_id(), tag, target_commitish or repo.default_branch,
                      owner, fake.state.now(), name=tag if name is None else name, body=body,
                      draft=True, prerelease=prerelease)
    repo.releases[release.id] = release
    for file_name, content in files.items():
        release.assets.append(Asset(fake.state.next_id(), file_name, content,
                                    "application/octet-stream", owner, fake.state.now(),
                                    digest=sha256_digest(content)))
    if not draft:
        publish(repo, release, fake.state.now())
    return release.id
