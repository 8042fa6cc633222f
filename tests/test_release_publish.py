"""publish_release against the local GitHub API: draft first, verified, idempotent, and never a
write to a published (immutable) release."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from github_fake import USER_TOKEN, FakeGitHub, RecordedRequest
from github_fake.releases import UPLOAD
from github_fake.state import OWNER, REPO
from mlops_ci.errors import GitHubError, InputError
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.errors import GitHubUnavailableError
from mlops_ci.release.publish import PublishResult, publish_release

FULL = f"{OWNER}/{REPO}"
CREATE = "POST /repos/{owner}/{repo}/releases"
UPDATE = "PATCH /repos/{owner}/{repo}/releases/{release_id}"
DELETE_ASSET = "DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}"
CONTENTS = {
    "model.skops": b"model bytes " * 1000,
    "model-card.md": b"# churn\n",
    "report.json": b'{"verdict": "pass"}',
    "SHA256SUMS": b"sums\n",
}


@pytest.fixture
def client(github_api: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(github_api.url, USER_TOKEN, timeout=10, sleep=lambda s: None) as made:
        yield made


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name, content in CONTENTS.items():
        made[name] = tmp_path / "bundle" / name
        made[name].parent.mkdir(exist_ok=True)
        made[name].write_bytes(content)
    return made


def publish(client: GitHubClient, files: dict[str, Path], *, tag: str = "v1.3.0",
            prerelease: bool = False) -> PublishResult:
    return publish_release(client, FULL, tag=tag, name=f"churn {tag}", body="notes",
                           prerelease=prerelease, files=files)


def writes(requests: list[RecordedRequest]) -> list[str]:
    return [r.operation or r.path for r in requests if r.method != "GET"]


def assert_release_holds(api: FakeGitHub, release_id: int, files: dict[str, Path]) -> None:
    release = api.state.repo().releases[release_id]
    assert sorted(a.name for a in release.assets) == sorted(files)  # one asset per name
    for asset in release.assets:
        local = files[asset.name].read_bytes()
        assert asset.state == "uploaded" and asset.content == local
        assert asset.digest == "sha256:" + hashlib.sha256(local).hexdigest()


def test_a_fresh_publish_makes_a_draft_uploads_verifies_then_publishes(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    result = publish(client, files)
    assert result.uploaded == tuple(sorted(files)) and result.already_published is False
    assert result.skipped == result.replaced == ()
    assert result.html_url.endswith("/releases/tag/v1.3.0")
    log = [r.operation for r in github_api.requests]
    assert writes(github_api.requests) == [CREATE] + [UPLOAD] * 4 + [UPDATE]
    (create,) = github_api.calls(CREATE)
    assert create.body["draft"] is True
    # The assets are listed (and checked) after the last upload, before the publishing PATCH.
    last_upload = max(i for i, op in enumerate(log) if op == UPLOAD)
    assert "GET /repos/{owner}/{repo}/releases/{release_id}/assets" in log[last_upload:-1]
    (update,) = github_api.calls(UPDATE)
    assert update.body == {"draft": False, "name": "churn v1.3.0", "body": "notes",
                           "prerelease": False, "make_latest": "true"}
    release = github_api.state.repo().releases[result.release_id]
    assert release.draft is False and github_api.state.repo().latest_release_id == release.id
    assert_release_holds(github_api, result.release_id, files)


def test_a_rerun_verifies_and_writes_nothing(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    first = publish(client, files)
    before = len(github_api.requests)
    again = publish(client, files)
    assert again.already_published is True and again.release_id == first.release_id
    assert again.skipped == tuple(sorted(files)) and again.uploaded == ()
    assert writes(github_api.requests[before:]) == []
    assert len(github_api.state.repo().releases) == 1
    assert_release_holds(github_api, first.release_id, files)


def test_a_published_release_with_a_changed_file_is_refused_untouched(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    publish(client, files)
    before = len(github_api.requests)
    files["model.skops"].write_bytes(b"a retrained model")
    with pytest.raises(InputError, match=r"model\.skops differs.*new version"):
        publish(client, files)
    assert writes(github_api.requests[before:]) == []


def test_immutable_releases_see_no_write_after_publishing(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    github_api.state.repo().immutable = True
    result = publish(client, files)
    assert github_api.state.repo().releases[result.release_id].immutable is True
    log = writes(github_api.requests)
    assert log[-1] == UPDATE and log.count(UPDATE) == 1
    before = len(github_api.requests)
    assert publish(client, files).already_published is True
    files["report.json"].write_bytes(b"{}")
    with pytest.raises(InputError, match="report.json differs"):
        publish(client, files)
    assert writes(github_api.requests[before:]) == []
    assert not any(r.status == 422 for r in github_api.requests)


def test_a_draft_with_a_changed_file_gets_it_replaced(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    seeded = {name: path.read_bytes() for name, path in files.items()}
    seeded["model.skops"] = b"an older model"
    seeded["stale.txt"] = b"not part of this release"
    release_id = github_api.add_release(tag="v1.3.0", files=seeded, draft=True)
    result = publish(client, files)
    assert result.release_id == release_id
    assert result.replaced == ("model.skops",) and result.uploaded == ()
    assert result.skipped == ("SHA256SUMS", "model-card.md", "report.json")
    assert len(github_api.calls(UPLOAD)) == 1
    assert_release_holds(github_api, release_id, files)


def test_an_asset_without_a_digest_is_compared_by_its_download(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    seeded = {name: path.read_bytes() for name, path in files.items()}
    release_id = github_api.add_release(tag="v1.3.0", files=seeded, draft=True)
    for asset in github_api.state.repo().releases[release_id].assets:
        asset.digest = None  # uploaded before GitHub computed digests
    result = publish(client, files)
    assert result.skipped == tuple(sorted(files)) and github_api.calls(UPLOAD) == []
    assert github_api.transfer.storage_requests  # hashed from their downloads
    assert all("authorization" not in r.headers for r in github_api.transfer.storage_requests)


@pytest.mark.parametrize("fault", ["reset_mid_body", "starter_502"])
def test_a_failed_upload_is_cleaned_up_and_retried_in_the_same_run(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path], fault: str
) -> None:
    github_api.inject(fault, on=UPLOAD)  # type: ignore[arg-type]
    result = publish(client, files)
    assert result.uploaded == tuple(sorted(files))
    assert writes(github_api.requests).count(DELETE_ASSET) == 1  # the starter asset
    assert_release_holds(github_api, result.release_id, files)


def test_an_upload_that_succeeded_behind_a_502_is_not_uploaded_again(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    github_api.inject("apply_then_fail", on=UPLOAD)
    result = publish(client, files)
    assert len(github_api.calls(UPLOAD)) == len(files)
    assert github_api.calls(DELETE_ASSET) == []
    assert_release_holds(github_api, result.release_id, files)


@pytest.mark.parametrize("fault", ["reset_mid_body", "starter_502"])
def test_an_interrupted_run_leaves_a_draft_that_the_rerun_completes(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path], fault: str
) -> None:
    github_api.inject(fault, times=3, on=UPLOAD)  # type: ignore[arg-type]
    with pytest.raises(GitHubError, match="stays a draft"):
        publish(client, files)
    (draft,) = github_api.state.repo().releases.values()
    assert draft.draft is True
    assert [a.state for a in draft.assets] == ["starter"]
    result = publish(client, files)
    assert result.release_id == draft.id and result.already_published is False
    assert len(github_api.state.repo().releases) == 1
    assert_release_holds(github_api, draft.id, files)


def test_a_run_stopped_before_publishing_is_completed_without_uploads(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    github_api.inject("reset", times=client.max_retries + 1, on=UPDATE)
    with pytest.raises(GitHubUnavailableError):
        publish(client, files)
    assert github_api.state.repo().releases  # a draft, with every asset
    before = len(github_api.calls(UPLOAD))
    result = publish(client, files)
    assert result.skipped == tuple(sorted(files)) and len(github_api.calls(UPLOAD)) == before
    assert github_api.state.repo().releases[result.release_id].draft is False


def test_a_draft_created_behind_a_502_is_found_not_duplicated(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    github_api.inject("apply_then_fail", on=CREATE)
    result = publish(client, files)
    assert len(github_api.calls(CREATE)) == 1
    assert list(github_api.state.repo().releases) == [result.release_id]


def test_a_prerelease_is_published_as_one_and_not_made_latest(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path]
) -> None:
    stable = github_api.add_release(tag="v1.2.0")
    github_api.state.repo().latest_release_id = stable
    result = publish(client, files, tag="v1.3.0-rc.1", prerelease=True)
    release = github_api.state.repo().releases[result.release_id]
    assert release.prerelease is True and release.draft is False
    assert github_api.state.repo().latest_release_id == stable
    assert github_api.calls(UPDATE)[0].body["make_latest"] == "false"


def test_publishing_on_ghes(ghes_api: FakeGitHub, files: dict[str, Path]) -> None:
    with GitHubClient(ghes_api.url, USER_TOKEN, timeout=10) as client:
        result = publish(client, files)
        assert publish(client, files).already_published is True
    assert all(r.path.startswith("/api/uploads/") for r in ghes_api.calls(UPLOAD))
    assert_release_holds(ghes_api, result.release_id, files)


@pytest.mark.parametrize(("change", "message"), [
    ({"body": "x" * 125_001}, "125,000"),
    ({"files": {"model card.md": None}}, "characters GitHub replaces"),
    ({"files": {".hidden": None}}, "characters GitHub replaces"),
    ({"files": {"a/b": None}}, "directory"),
    ({"files": {}}, "no files"),
])
def test_what_github_would_refuse_is_refused_before_any_request(
    github_api: FakeGitHub, client: GitHubClient, files: dict[str, Path],
    change: dict[str, object], message: str,
) -> None:
    body = change.get("body", "notes")
    named = change.get("files")
    chosen = files if named is None else {n: files["report.json"] for n in named}  # type: ignore[union-attr]
    with pytest.raises(InputError, match=message):
        publish_release(client, FULL, tag="v1.3.0", name="v1.3.0", body=str(body),
                        prerelease=False, files=chosen)
    assert github_api.requests == []
