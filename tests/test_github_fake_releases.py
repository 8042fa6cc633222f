"""The local GitHub API's releases behave like GitHub's: drafts, uploads on their own origin,
digests, starter assets, downloads through a storage that refuses the token, immutable
releases, and deployments."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from github_fake import FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.releases import GET_ASSET, UPLOAD
from github_fake.state import HEAD_SHA, OWNER, REPO

REPO_PATH = f"/repos/{OWNER}/{REPO}"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def call(api: FakeGitHub, method: str, path: str, *, token: str | None = USER_TOKEN,
         **kwargs: Any) -> requests.Response:
    headers = dict(HEADERS, **kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = path if path.startswith("http") else api.url + path
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def create(api: FakeGitHub, **body: Any) -> dict[str, Any]:
    answer = call(api, "POST", f"{REPO_PATH}/releases", json={"tag_name": "v1.0.0", **body})
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


def upload(api: FakeGitHub, release: dict[str, Any], name: str, content: bytes,
           **kwargs: Any) -> requests.Response:
    url = release["upload_url"].split("{", 1)[0]
    headers = {"Content-Type": "application/octet-stream", **kwargs.pop("headers", {})}
    return call(api, "POST", url, params={"name": name}, data=content, headers=headers,
                **kwargs)


def rejected(api: FakeGitHub) -> list[str]:
    return [r.rejection or "" for r in api.take_rejections()]


# -- drafts -------------------------------------------------------------------------------------


def test_a_draft_is_seen_only_by_a_token_that_can_write(github_api: FakeGitHub) -> None:
    draft = create(github_api, draft=True, name="v1.0.0")
    assert draft["draft"] is True and draft["published_at"] is None
    listed = call(github_api, "GET", f"{REPO_PATH}/releases").json()
    assert [r["id"] for r in listed] == [draft["id"]]
    assert call(github_api, "GET", f"{REPO_PATH}/releases", token=FORK_TOKEN).json() == []
    assert call(github_api, "GET", f"{REPO_PATH}/releases", token=None).json() == []
    by_id = f"{REPO_PATH}/releases/{draft['id']}"
    assert call(github_api, "GET", by_id).status_code == 200
    assert call(github_api, "GET", by_id, token=FORK_TOKEN).status_code == 404
    # By tag, GitHub never finds a draft, whoever asks.
    assert call(github_api, "GET", f"{REPO_PATH}/releases/tags/v1.0.0").status_code == 404


def test_publishing_a_draft_makes_it_the_latest_unless_a_prerelease(
    github_api: FakeGitHub,
) -> None:
    pre = create(github_api, tag_name="v2.0.0-rc.1", draft=True, prerelease=True)
    final = create(github_api, draft=True)
    for release in (final, pre):
        answer = call(github_api, "PATCH", f"{REPO_PATH}/releases/{release['id']}",
                      json={"draft": False})
        assert answer.status_code == 200 and answer.json()["published_at"]
    latest = call(github_api, "GET", f"{REPO_PATH}/releases/latest").json()
    assert latest["id"] == final["id"]
    by_tag = call(github_api, "GET", f"{REPO_PATH}/releases/tags/v2.0.0-rc.1").json()
    assert by_tag["id"] == pre["id"] and by_tag["prerelease"] is True


def test_drafts_may_share_a_tag_but_two_published_releases_may_not(
    github_api: FakeGitHub,
) -> None:
    first, second = create(github_api, draft=True), create(github_api, draft=True)
    assert first["id"] != second["id"]
    assert call(github_api, "PATCH", f"{REPO_PATH}/releases/{first['id']}",
                json={"draft": False}).status_code == 200
    again = call(github_api, "PATCH", f"{REPO_PATH}/releases/{second['id']}",
                 json={"draft": False})
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "already_exists"
    answer = call(github_api, "POST", f"{REPO_PATH}/releases", json={"tag_name": "v1.0.0"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "tag_name"


def test_a_body_over_githubs_limit_is_refused(github_api: FakeGitHub) -> None:
    answer = call(github_api, "POST", f"{REPO_PATH}/releases",
                  json={"tag_name": "v1", "body": "x" * 125_001})
    assert answer.status_code == 422 and "125000" in answer.text


def test_releases_are_paginated_newest_first(github_api: FakeGitHub) -> None:
    ids = [github_api.add_release(tag=f"v1.0.{i}") for i in range(5)]
    first = call(github_api, "GET", f"{REPO_PATH}/releases", params={"per_page": 2})
    assert [r["id"] for r in first.json()] == ids[::-1][:2]
    assert 'rel="next"' in first.headers["Link"]


# -- uploads ------------------------------------------------------------------------------------


def test_an_upload_goes_to_the_upload_origin_and_reports_its_digest(
    github_api: FakeGitHub,
) -> None:
    release = create(github_api, draft=True)
    template = release["upload_url"]
    assert template.endswith(f"/releases/{release['id']}/assets{{?name,label}}")
    origin = urlsplit(template)
    assert f"{origin.scheme}://{origin.netloc}" == github_api.transfer.upload_origin
    assert github_api.transfer.upload_origin != github_api.origin

    answer = upload(github_api, release, "model.skops", b"model bytes")
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert asset["state"] == "uploaded" and asset["size"] == 11
    assert asset["digest"] == "sha256:" + hashlib.sha256(b"model bytes").hexdigest()
    listed = call(github_api, "GET", f"{REPO_PATH}/releases/{release['id']}/assets").json()
    assert [a["name"] for a in listed] == ["model.skops"]

    duplicate = upload(github_api, release, "model.skops", b"other")
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["code"] == "already_exists"


def test_an_upload_sent_to_the_api_host_is_a_client_bug(github_api: FakeGitHub) -> None:
    release = create(github_api, draft=True)
    answer = call(github_api, "POST", f"{REPO_PATH}/releases/{release['id']}/assets",
                  params={"name": "a"}, data=b"x",
                  headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 404
    assert "upload_url" in rejected(github_api)[0]


def test_an_upload_needs_a_length_and_a_type(github_api: FakeGitHub) -> None:
    release = create(github_api, draft=True)
    chunked = upload(github_api, release, "a", iter([b"x", b"y"]))
    assert chunked.status_code == 411
    untyped = upload(github_api, release, "b", b"x", headers={"Content-Type": ""})
    assert untyped.status_code == 422
    assert len(rejected(github_api)) == 2
    assert github_api.state.repo().releases[release["id"]].assets == []


@pytest.mark.parametrize("fault", ["reset_mid_body", "starter_502"])
def test_a_failed_upload_leaves_a_starter_asset_that_holds_the_name(
    github_api: FakeGitHub, fault: Any
) -> None:
    release = create(github_api, draft=True)
    github_api.inject(fault, on=UPLOAD)
    if fault == "reset_mid_body":
        with pytest.raises(requests.ConnectionError):
            upload(github_api, release, "model.skops", b"m" * 1_000_000)
    else:
        assert upload(github_api, release, "model.skops", b"m" * 1000).status_code == 502
    listed = call(github_api, "GET", f"{REPO_PATH}/releases/{release['id']}/assets").json()
    assert [(a["name"], a["state"], a["digest"]) for a in listed] == [
        ("model.skops", "starter", None)
    ]
    assert upload(github_api, release, "model.skops", b"m").status_code == 422
    assert call(github_api, "DELETE",
                f"{REPO_PATH}/releases/assets/{listed[0]['id']}").status_code == 204
    assert upload(github_api, release, "model.skops", b"m").status_code == 201


def test_apply_then_fail_stores_the_whole_asset_and_answers_502(github_api: FakeGitHub) -> None:
    release = create(github_api, draft=True)
    github_api.inject("apply_then_fail", on=UPLOAD)
    assert upload(github_api, release, "a.bin", b"abc").status_code == 502
    asset = github_api.state.repo().releases[release["id"]].assets[0]
    assert (asset.state, asset.content, asset.digest) == (
        "uploaded", b"abc", "sha256:" + hashlib.sha256(b"abc").hexdigest()
    )


def test_upload_only_faults_are_refused_elsewhere(github_api: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="only"):
        github_api.inject("starter_502", on=f"POST {'/repos/{owner}/{repo}/releases'}")


def test_ghes_uploads_at_api_uploads_on_the_api_host(ghes_api: FakeGitHub) -> None:
    release = create(ghes_api, draft=True)
    assert release["upload_url"].startswith(ghes_api.origin + "/api/uploads/repos/")
    assert upload(ghes_api, release, "a.bin", b"abc").status_code == 201
    assert [r.path for r in ghes_api.calls(UPLOAD)] == [
        f"/api/uploads{REPO_PATH}/releases/{release['id']}/assets"
    ]


# -- downloads ----------------------------------------------------------------------------------


def test_a_download_redirects_to_a_storage_that_refuses_the_token(
    github_api: FakeGitHub,
) -> None:
    release_id = github_api.add_release(tag="v1.0.0", files={"model.skops": b"bytes"})
    asset = github_api.state.repo().releases[release_id].assets[0]
    path = f"{REPO_PATH}/releases/assets/{asset.id}"
    assert call(github_api, "GET", path).json()["name"] == "model.skops"

    answer = call(github_api, "GET", path, headers={"Accept": "application/octet-stream"},
                  allow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(github_api.transfer.storage_origin)
    assert urlsplit(location).hostname != urlsplit(github_api.url).hostname or (
        urlsplit(location).port != urlsplit(github_api.url).port
    )
    # With the token the storage refuses; the URL's own token works once.
    assert requests.get(location, headers={"Authorization": f"Bearer {USER_TOKEN}"},
                        timeout=10).status_code == 400
    fresh = call(github_api, "GET", path, headers={"Accept": "application/octet-stream"},
                 allow_redirects=False).headers["Location"]
    assert requests.get(fresh, timeout=10).content == b"bytes"
    assert requests.get(fresh, timeout=10).status_code == 403
    assert [r.status for r in github_api.transfer.storage_requests] == [400, 200, 403]
    assert [r.operation for r in github_api.requests].count(GET_ASSET) == 3


def test_a_draft_asset_is_hidden_from_a_read_only_token(github_api: FakeGitHub) -> None:
    release_id = github_api.add_release(tag="v1.0.0", files={"a": b"x"}, draft=True)
    asset = github_api.state.repo().releases[release_id].assets[0]
    path = f"{REPO_PATH}/releases/assets/{asset.id}"
    assert call(github_api, "GET", path, token=FORK_TOKEN).status_code == 404
    assert call(github_api, "GET", path).status_code == 200


# -- immutable releases -------------------------------------------------------------------------


def test_an_immutable_release_is_frozen_once_published_and_its_tag_burns(
    github_api: FakeGitHub,
) -> None:
    github_api.state.repo().immutable = True
    release = create(github_api, draft=True)
    assert upload(github_api, release, "a.bin", b"a").status_code == 201
    published = call(github_api, "PATCH", f"{REPO_PATH}/releases/{release['id']}",
                     json={"draft": False}).json()
    assert published["immutable"] is True

    frozen = upload(github_api, published, "b.bin", b"b")
    assert frozen.status_code == 422 and "Cannot upload assets to an immutable" in frozen.text
    asset_id = published["assets"][0]["id"]
    assert call(github_api, "DELETE", f"{REPO_PATH}/releases/assets/{asset_id}").status_code == 422
    assert call(github_api, "PATCH", f"{REPO_PATH}/releases/{release['id']}",
                json={"draft": True}).status_code == 422
    # Notes may still change.
    assert call(github_api, "PATCH", f"{REPO_PATH}/releases/{release['id']}",
                json={"body": "new notes"}).status_code == 200

    assert call(github_api, "DELETE", f"{REPO_PATH}/releases/{release['id']}").status_code == 204
    again = call(github_api, "POST", f"{REPO_PATH}/releases",
                 json={"tag_name": "v1.0.0", "draft": True})
    assert again.status_code == 422 and "was used by an immutable release" in again.text


def test_add_release_seeds_published_assets_with_digests(github_api: FakeGitHub) -> None:
    github_api.state.repo().immutable = True
    release_id = github_api.add_release(tag="v1.2.0", files={"a": b"1", "b": b"22"},
                                        prerelease=True)
    release = github_api.state.repo().releases[release_id]
    assert (release.draft, release.prerelease, release.immutable) == (False, True, True)
    assert [(a.name, a.size, a.state) for a in release.assets] == [
        ("a", 1, "uploaded"), ("b", 2, "uploaded")
    ]
    shown = call(github_api, "GET", f"{REPO_PATH}/releases/tags/v1.2.0").json()
    assert [a["digest"] for a in shown["assets"]] == [
        "sha256:" + hashlib.sha256(c).hexdigest() for c in (b"1", b"22")
    ]


# -- deployments --------------------------------------------------------------------------------


def test_a_deployment_and_its_status_are_recorded(github_api: FakeGitHub) -> None:
    github_api.add_release(tag="v1.0.0")
    body = {"ref": "v1.0.0", "environment": "production", "auto_merge": False,
            "required_contexts": [], "payload": {"version": "v1.0.0"}}
    made = call(github_api, "POST", f"{REPO_PATH}/deployments", json=body)
    assert made.status_code == 201, made.text
    deployment = made.json()
    status = call(github_api, "POST", f"{REPO_PATH}/deployments/{deployment['id']}/statuses",
                  json={"state": "success", "environment_url": "https://models.example/churn",
                        "log_url": "https://github.com/o/r/actions/runs/1"})
    assert status.status_code == 201, status.text
    recorded = github_api.state.repo().deployments
    assert [(d.ref, d.sha, d.environment, d.state) for d in recorded] == [
        ("v1.0.0", HEAD_SHA, "production", "success")
    ]
    listed = call(github_api, "GET", f"{REPO_PATH}/deployments",
                  params={"environment": "production"}).json()
    assert [d["id"] for d in listed] == [deployment["id"]]


def test_a_deployment_without_auto_merge_false_is_only_merged(github_api: FakeGitHub) -> None:
    github_api.add_release(tag="v1.0.0")
    answer = call(github_api, "POST", f"{REPO_PATH}/deployments", json={"ref": "v1.0.0"})
    assert answer.status_code == 202
    assert github_api.state.repo().deployments == []
    unknown = call(github_api, "POST", f"{REPO_PATH}/deployments",
                   json={"ref": "nope", "auto_merge": False})
    assert unknown.status_code == 422


def test_a_new_success_makes_the_previous_deployment_inactive(github_api: FakeGitHub) -> None:
    ids = []
    for _ in range(2):
        made = call(github_api, "POST", f"{REPO_PATH}/deployments",
                    json={"ref": HEAD_SHA, "auto_merge": False, "required_contexts": []}).json()
        call(github_api, "POST", f"{REPO_PATH}/deployments/{made['id']}/statuses",
             json={"state": "success"})
        ids.append(made["id"])
    states = {d.id: d.state for d in github_api.state.repo().deployments}
    assert states == {ids[0]: "inactive", ids[1]: "success"}
    long = call(github_api, "POST", f"{REPO_PATH}/deployments/{ids[1]}/statuses",
                json={"state": "success", "description": "x" * 141})
    assert long.status_code == 422
