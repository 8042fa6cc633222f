"""Release calls, asset transfers and deployments against the local GitHub API, over sockets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from github_fake import USER_TOKEN, FakeGitHub
from github_fake.releases import GET_ASSET, UPLOAD
from github_fake.state import HEAD_SHA, OWNER, REPO
from mlops_ci.errors import GitHubError, InputError
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.deployments import record_deployment, run_url
from mlops_ci.github.releases import (
    create_release,
    download_asset,
    find_release,
    list_assets,
    list_releases,
    upload_asset,
)
from mlops_ci.github.transfer import admit_upload_url, expected_upload_base

FULL = f"{OWNER}/{REPO}"
LIST = "GET /repos/{owner}/{repo}/releases"
BY_TAG = "GET /repos/{owner}/{repo}/releases/tags/{tag}"


@pytest.fixture
def client(github_api: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(github_api.url, USER_TOKEN, timeout=10, sleep=lambda s: None) as made:
        yield made


def asset_of(api: FakeGitHub, release_id: int, name: str) -> dict[str, Any]:
    with GitHubClient(api.url, USER_TOKEN, timeout=10) as reader:
        return next(a for a in list_assets(reader, FULL, release_id) if a["name"] == name)


# -- finding releases ---------------------------------------------------------------------------


def test_find_release_sees_a_draft_through_the_list(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    assert find_release(client, FULL, "v1.0.0") is None
    draft_id = github_api.add_release(tag="v1.0.0", draft=True)
    found = find_release(client, FULL, "v1.0.0")
    assert found is not None and found["id"] == draft_id and found["draft"] is True
    assert [r["id"] for r in list_releases(client, FULL)] == [draft_id]


def test_find_release_asks_for_a_published_one_by_tag_alone(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    release_id = github_api.add_release(tag="churn@v1.0.0")
    found = find_release(client, FULL, "churn@v1.0.0")
    assert found is not None and found["id"] == release_id
    assert len(github_api.calls(BY_TAG)) == 1 and github_api.calls(LIST) == []


def test_a_repository_that_is_not_owner_name_is_refused(client: GitHubClient) -> None:
    with pytest.raises(InputError, match="OWNER/NAME"):
        find_release(client, "octo-org/../x", "v1")


# -- uploads ------------------------------------------------------------------------------------


def test_an_upload_is_streamed_to_the_upload_origin_with_type_and_length(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    release = create_release(client, FULL, tag="v1.0.0", name="v1.0.0", body="")
    path = tmp_path / "report.json"
    path.write_bytes(b'{"ok": true}')
    asset = upload_asset(client, release, path, name="report.json")
    assert asset["digest"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    (sent,) = github_api.calls(UPLOAD)
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["content-length"] == str(path.stat().st_size)
    assert sent.query == {"name": ["report.json"]}
    assert github_api.transfer.upload_origin in client.token_origins


def test_a_rate_limited_upload_is_sent_again_whole(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    release = create_release(client, FULL, tag="v1.0.0", name="v1.0.0", body="")
    path = tmp_path / "model.bin"
    path.write_bytes(b"m" * 200_000)
    github_api.inject(429, on=UPLOAD, retry_after=0)
    asset = upload_asset(client, release, path, name="model.bin")
    assert asset["size"] == 200_000
    assert [r.status for r in github_api.calls(UPLOAD)] == [429, 201]


def test_upload_host_policy() -> None:
    assert expected_upload_base("https://api.github.com") == "https://uploads.github.com"
    assert expected_upload_base("https://api.octo.ghe.com/") == "https://uploads.octo.ghe.com"
    assert expected_upload_base("https://ghe.example/api/v3") == "https://ghe.example/api/uploads"
    assert expected_upload_base("http://127.0.0.1:8080") is None


@pytest.mark.parametrize(("api_url", "upload_url", "why"), [
    ("https://api.github.com", "https://evil.example/repos/o/r/releases/1/assets{?name,label}",
     "uploads.github.com"),
    ("https://api.github.com", "http://uploads.github.com/repos/o/r/releases/1/assets",
     "uses http"),
    ("https://ghe.example/api/v3", "https://other.example/api/uploads/repos/o/r/releases/1/assets",
     "ghe.example/api/uploads"),
    ("https://api.github.com", "https://uploads.github.com/repos/o/r/releases/2/assets",
     "release 1"),
    ("https://api.github.com", "https://u:p@uploads.github.com/repos/o/r/releases/1/assets",
     "credentials"),
])
def test_an_upload_url_off_the_policy_is_refused(api_url: str, upload_url: str,
                                                 why: str) -> None:
    with GitHubClient(api_url, USER_TOKEN) as client:
        with pytest.raises(GitHubError, match=why):
            admit_upload_url(client, upload_url, 1)
        assert client.token_origins == {api_url.split("/api/v3")[0].rstrip("/")}


def test_an_upload_url_on_policy_is_admitted() -> None:
    with GitHubClient("https://api.github.com", USER_TOKEN) as client:
        url = admit_upload_url(
            client, "https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}", 1)
        assert url == "https://uploads.github.com/repos/o/r/releases/1/assets"
        assert client.token_origins == {"https://api.github.com", "https://uploads.github.com"}


def test_a_large_upload_shows_a_progress_bar(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLOPS_CI_PROGRESS", raising=False)
    release = create_release(client, FULL, tag="v1.0.0", name="v1.0.0", body="")
    big, small = tmp_path / "big.bin", tmp_path / "small.txt"
    big.write_bytes(b"b" * (3 << 20))
    small.write_bytes(b"s")
    upload_asset(client, release, big, name="big.bin")
    upload_asset(client, release, small, name="small.txt")
    err = capsys.readouterr().err
    assert "Uploading big.bin [" in err and "100%" in err and "3.0 MiB of 3.0 MiB" in err
    assert "small.txt" not in err


def test_ghes_uploads_and_downloads_under_the_prefix(ghes_api: FakeGitHub,
                                                     tmp_path: Path) -> None:
    with GitHubClient(ghes_api.url, USER_TOKEN, timeout=10) as client:
        release = create_release(client, FULL, tag="v1.0.0", name="v1.0.0", body="")
        path = tmp_path / "model.bin"
        path.write_bytes(b"ghes bytes")
        asset = upload_asset(client, release, path, name="model.bin")
        assert client.token_origins == {ghes_api.origin}
        download_asset(client, FULL, asset, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == b"ghes bytes"
    assert ghes_api.calls(UPLOAD)[0].path.startswith("/api/uploads/repos/")


# -- downloads ----------------------------------------------------------------------------------


def test_a_download_never_sends_the_token_to_the_storage(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A .netrc entry for the storage host must not add credentials either.
    storage_host = github_api.transfer.storage_origin.split("//")[1].split(":")[0]
    if storage_host != "127.0.0.1":  # the API's host: the API would get them too
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine {storage_host} login someone password secret\n")
        monkeypatch.setenv("NETRC", str(netrc))
    release_id = github_api.add_release(tag="v1.0.0", files={"model.skops": b"model"})
    target = tmp_path / "model.skops"
    download_asset(client, FULL, asset_of(github_api, release_id, "model.skops"), target)
    assert target.read_bytes() == b"model"
    (api_request,) = github_api.calls(GET_ASSET)
    assert api_request.headers["authorization"] == f"Bearer {USER_TOKEN}"
    (stored,) = github_api.transfer.storage_requests
    assert stored.status == 200 and "authorization" not in stored.headers
    assert USER_TOKEN not in repr(stored.headers)


@pytest.mark.parametrize("without_length", [False, True])
def test_a_download_past_the_assets_size_is_refused(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path, without_length: bool
) -> None:
    release_id = github_api.add_release(tag="v1.0.0", files={"model.skops": b"model"})
    asset = asset_of(github_api, release_id, "model.skops")
    stored = github_api.state.repo().releases[release_id].assets[0]
    stored.content += b" and a payload"  # the storage now sends more than `size`
    github_api.transfer.storage_without_length = without_length
    target = tmp_path / "out" / "model.skops"
    target.parent.mkdir()
    # Refused on the declared length, or while streaming, before reading on past `size`.
    refusal = "ran past its size" if without_length else "but its download is 19"
    with pytest.raises(InputError, match=refusal):
        download_asset(client, FULL, asset, target)
    assert list(target.parent.iterdir()) == []


def test_a_short_or_altered_download_is_refused(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    release_id = github_api.add_release(tag="v1.0.0", files={"a.bin": b"aaaa", "b.bin": b"bb"})
    a, b = asset_of(github_api, release_id, "a.bin"), asset_of(github_api, release_id, "b.bin")
    github_api.transfer.storage_without_length = True
    github_api.state.repo().releases[release_id].assets[0].content = b"aa"
    with pytest.raises(InputError, match="stopped at 2 of 4 bytes"):
        download_asset(client, FULL, a, tmp_path / "a.bin")
    github_api.state.repo().releases[release_id].assets[1].content = b"BB"
    with pytest.raises(InputError, match="does not match the sha256"):
        download_asset(client, FULL, b, tmp_path / "b.bin")
    assert list(tmp_path.iterdir()) == []


def test_a_starter_asset_is_not_downloaded(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    release_id = github_api.add_release(tag="v1.0.0", files={"a.bin": b"a"}, draft=True)
    github_api.state.repo().releases[release_id].assets[0].state = "starter"
    with pytest.raises(InputError, match="never completely uploaded"):
        download_asset(client, FULL, asset_of(github_api, release_id, "a.bin"), tmp_path / "a")
    assert github_api.transfer.storage_requests == []


# -- deployments --------------------------------------------------------------------------------


def test_record_deployment_shows_the_version_live(github_api: FakeGitHub,
                                                  client: GitHubClient) -> None:
    github_api.add_release(tag="v1.3.0")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": FULL, "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2"}
    deployment_id = record_deployment(
        client, FULL, ref="v1.3.0", environment="production",
        description="churn v1.3.0: " + "gates passed " * 20,
        payload={"artifact": "churn", "version": "v1.3.0"},
        environment_url="https://models.example/churn", env=env,
    )
    (deployment,) = github_api.state.repo().deployments
    assert deployment.id == deployment_id
    assert (deployment.ref, deployment.sha, deployment.environment, deployment.state) == (
        "v1.3.0", HEAD_SHA, "production", "success")
    assert deployment.payload == {"artifact": "churn", "version": "v1.3.0"}
    (status,) = deployment.statuses
    assert status["environment_url"] == "https://models.example/churn"
    assert status["log_url"] == f"https://github.com/{FULL}/actions/runs/42/attempts/2"
    assert len(status["description"]) <= 140
    (sent,) = github_api.calls("POST /repos/{owner}/{repo}/deployments")
    assert sent.body["auto_merge"] is False and sent.body["required_contexts"] == []


def test_a_second_deployment_makes_the_first_inactive(github_api: FakeGitHub,
                                                      client: GitHubClient) -> None:
    for tag in ("v1.0.0", "v1.1.0"):
        github_api.add_release(tag=tag)
        record_deployment(client, FULL, ref=tag, environment="production", description=tag,
                          payload={}, environment_url=None, env={})
    assert [(d.ref, d.state) for d in github_api.state.repo().deployments] == [
        ("v1.0.0", "inactive"), ("v1.1.0", "success")]
    assert "log_url" not in github_api.calls(
        "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses")[0].body


def test_a_bad_deployment_state_or_url_is_refused_before_any_request(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    with pytest.raises(InputError, match="state"):
        record_deployment(client, FULL, ref="v1", environment="prod", description="",
                          payload={}, environment_url=None, state="done", env={})
    with pytest.raises(InputError, match="http"):
        record_deployment(client, FULL, ref="v1", environment="prod", description="",
                          payload={}, environment_url="javascript:alert(1)", env={})
    assert github_api.requests == []


def test_run_url_only_on_actions() -> None:
    assert run_url({}) is None
    assert run_url({"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r",
                    "GITHUB_RUN_ID": "7"}) == "https://github.com/o/r/actions/runs/7"


def test_a_download_into_a_missing_directory_is_an_input_error(
    github_api: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    release_id = github_api.add_release(tag="v1.0.0", files={"a.bin": b"a"})
    with pytest.raises(InputError, match="cannot be written into"):
        download_asset(client, FULL, asset_of(github_api, release_id, "a.bin"),
                       tmp_path / "missing" / "a.bin")
