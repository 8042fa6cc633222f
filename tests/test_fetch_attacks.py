"""`mlops-ci fetch` against hostile releases: a replayed or foreign bundle, malformed evidence,
assets SHA256SUMS does not list, a destination that is not a fetch, the debug log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from release_bundles import build_release, files_of, key_pair, trained_model, tree
from tag_repo import TagRepo

from factories import make_report
from github_fake import FakeGitHub
from mlops_ci.__main__ import main
from mlops_ci.models import save_model
from mlops_ci.release.bundle import collect_bundle
from mlops_ci.release.sign import EVIDENCE_NAME, evidence_from_report, evidence_text, sign_bundle

REPO = "octo-org/ml-model"


def bundle_without_names(directory: Path, key: Path) -> Path:
    """A signed bundle whose evidence.json names no artifact and no version: the evidence of
    a release made before mlops-ci recorded them, or by another tool."""
    build = directory.parent / f".{directory.name}-build"
    build.mkdir(parents=True)
    trusted = save_model(trained_model(), build / "model.skops")
    evidence = evidence_from_report(make_report())
    assert "version" not in evidence and "artifact" not in evidence
    evidence["models"] = [{"file": "model.skops", "format": "skops", "trusted_types": trusted}]
    collect_bundle({"model.skops": build / "model.skops"}, directory,
                   texts={EVIDENCE_NAME: evidence_text(evidence)})
    sign_bundle(directory, private_key=key)
    return directory


@pytest.fixture
def world(github_api: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    git = TagRepo(tmp_path / "repo")
    git.tag("churn@v1.0.0")
    git.commit("second")
    git.tag("churn@v1.1.0")
    monkeypatch.setenv("GITHUB_API_URL", github_api.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.chdir(git.root)
    return github_api, git


def test_a_signed_release_whose_evidence_names_no_version_is_refused(
    world, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The evidence must name the version asked for: a signed bundle that does not say which
    version it is (here an older one, re-uploaded under churn@v1.1.0 by someone who can upload
    assets but has no key) is refused, not installed as v1.1.0."""
    api, _ = world
    private, public = key_pair(tmp_path / "keys")
    old = bundle_without_names(tmp_path / "v1.0.0", private)
    api.add_release(tag="churn@v1.1.0", files=files_of(old))
    dest = tmp_path / "deploy" / "model"
    code = main(["fetch", "churn@v1.1.0", "--dest", str(dest), "--public-key", str(public)])
    _, err = capsys.readouterr()
    assert code == 2, "a signed release that does not say which version it is was installed"
    assert tree(dest) is None
    assert "names no" in err and "version" in err


def test_evidence_nested_too_deep_is_a_clear_refusal(
    world, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """An evidence.json of deeply nested JSON is refused with exit 2 and one message, not an
    internal error (json's RecursionError)."""
    api, _ = world
    build = tmp_path / "build"
    build.mkdir()
    (build / "model-card.md").write_text("# churn\n", encoding="utf-8")
    bundle = tmp_path / "bundle"
    collect_bundle({"model-card.md": build / "model-card.md"}, bundle,
                   texts={EVIDENCE_NAME: "[" * 200_000})
    api.add_release(tag="churn@v1.1.0", files=files_of(bundle))
    dest = tmp_path / "deploy" / "model"
    code = main(["fetch", "churn@v1.1.0", "--dest", str(dest)])
    _, err = capsys.readouterr()
    assert code == 2, err[-600:]
    assert "Traceback" not in err and "nested too deeply" in err
    assert tree(dest) is None


def test_the_debug_log_does_not_print_the_storage_urls_credentials(world, tmp_path: Path):
    """The storage URL an asset redirects to carries short-lived credentials in its query (a
    bearer link to the model of a private repository): `--debug` must not print it, nor the
    token, to a job log anyone with read access can see."""
    from conftest import cli
    from github_fake import USER_TOKEN

    api, git = world
    bundle = build_release(tmp_path / "v1.1.0", version="v1.1.0", commit=git.commits[1])
    api.add_release(tag="churn@v1.1.0", files=files_of(bundle))
    result = cli("--debug", "fetch", "churn@v1.1.0", "--dest", str(tmp_path / "out"),
                 cwd=git.root,
                 env={"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": REPO,
                      "GITHUB_TOKEN": USER_TOKEN})
    assert result.code == 0, result.stderr[-2000:]
    assert USER_TOKEN not in result.stderr + result.stdout
    assert "X-Amz-" not in result.stderr, [  # no part of a storage URL's query
        line for line in result.stderr.splitlines() if "X-Amz-" in line][:2]
    assert "GET /repos/" in result.stderr  # mlops-ci's own request log is still there


def test_a_signed_release_of_another_commit_is_refused(
    world, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The evidence's commit must be the one the tag points at: with one signing key for
    several repositories (an org-wide release key), another repository's (or a fork's) signed
    churn v1.1.0, uploaded to this repository's churn@v1.1.0 release, is refused."""
    api, git = world
    private, public = key_pair(tmp_path / "keys")
    elsewhere = build_release(tmp_path / "other-repo", key=private, version="v1.1.0")
    claimed = json.loads((elsewhere / EVIDENCE_NAME).read_text())["commit"]
    assert claimed != git.commits[1]  # built from a commit this repository's tag does not name
    api.add_release(tag="churn@v1.1.0", files=files_of(elsewhere))
    dest = tmp_path / "deploy" / "model"
    code = main(["fetch", "churn@v1.1.0", "--dest", str(dest), "--public-key", str(public)])
    _, err = capsys.readouterr()
    assert code == 2, "a signed release built from another commit was installed"
    assert claimed in err and git.commits[1] in err
    assert tree(dest) is None


def test_an_asset_that_sha256sums_does_not_list_is_refused_before_it_is_downloaded(
    world, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """SHA256SUMS is downloaded first (it is small and bounded) and an asset it does not list
    is refused by name before a byte of it is fetched: a release can hold 200 assets of 2 GiB
    each, which must not land on the deploy host's disk first."""
    from github_fake.releases import sha256_digest

    api, git = world
    bundle = build_release(tmp_path / "v1.1.0", version="v1.1.0", commit=git.commits[1])
    files = files_of(bundle)
    junk = b"\0" * (4 << 20)  # stands in for 200 x 2 GiB
    files["zz-filler.bin"] = junk
    api.add_release(tag="churn@v1.1.0", files=files)
    release = next(iter(api.state.repo().releases.values()))
    filler = release.asset("zz-filler.bin")
    assert filler is not None and filler.digest == sha256_digest(junk)
    dest = tmp_path / "deploy" / "model"
    code = main(["fetch", "churn@v1.1.0", "--dest", str(dest)])
    _, err = capsys.readouterr()
    assert code == 2 and "zz-filler.bin" in err
    fetched = [r.path for r in api.transfer.storage_requests]
    assert not any(p.endswith(f"/{filler.id}") for p in fetched), (
        "the unlisted asset was downloaded in full before it was refused")
    assert len(fetched) == 1  # SHA256SUMS alone
    assert tree(dest) is None and sorted(p.name for p in dest.parent.iterdir()) == []


def test_a_listed_file_the_release_lacks_is_refused_before_downloading(
    world, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    api, git = world
    bundle = build_release(tmp_path / "v1.1.0", version="v1.1.0", commit=git.commits[1])
    files = files_of(bundle)
    del files["model.skops"]
    api.add_release(tag="churn@v1.1.0", files=files)
    code = main(["fetch", "churn@v1.1.0", "--dest", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == 2 and "lacks files" in err and "'model.skops'" in err
    assert len(api.transfer.storage_requests) == 1


def test_a_directory_that_merely_holds_a_sha256sums_is_not_swapped_out_and_deleted(
    world, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """A previous fetch is a directory that verifies (exactly the files its SHA256SUMS lists,
    and model.sig): a downloads folder of images with their SHA256SUMS, and a file of the
    user's not listed anywhere, is refused and left as it was, not exchanged and deleted."""
    api, git = world
    bundle = build_release(tmp_path / "v1.1.0", version="v1.1.0", commit=git.commits[1])
    api.add_release(tag="churn@v1.1.0", files=files_of(bundle))
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    (downloads / "ubuntu.iso").write_bytes(b"iso")
    (downloads / "SHA256SUMS").write_text("0" * 64 + "  ubuntu.iso\n")
    (downloads / "thesis.tex").write_text("years of work\n")  # not listed anywhere
    before = tree(downloads)
    code = main(["fetch", "churn@v1.1.0", "--dest", str(downloads)])
    _, err = capsys.readouterr()
    assert tree(downloads) == before, "the user's directory was swapped out and deleted"
    assert code == 2 and "not a previous fetch" in err
    assert not api.transfer.storage_requests
