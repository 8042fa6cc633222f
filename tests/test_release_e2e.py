"""`mlops-ci release` end to end: a tag on a passing commit becomes a complete, signed release.

Real git and DVC (tests/release_repo.py), the local GitHub API with its releases, uploads and
storage; the assets are downloaded back from the fake and verified as a deployer would
(``verify_directory`` and ``verify_bundle``), and GTO itself reads the tags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mermaid_check import mermaid_blocks, mermaid_errors
from release_repo import ReleaseRepo, build_template, copy_of
from test_release import actions_env

from conftest import clean_env, cli, git
from github_fake.releases import UPLOAD
from github_fake.server import FakeGitHub
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.releases import download_asset, find_release, list_assets
from mlops_ci.release.bundle import SUMS_NAME, verify_directory
from mlops_ci.release.sign import SIGNATURE_NAME, read_evidence, verify_bundle

REPO = "octo-org/ml-model"
BUNDLE = {"model.pkl", "model-card.md", "report.json", "metrics.json", "params.yaml",
          "dvc.lock", "evidence.json", SUMS_NAME, SIGNATURE_NAME}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("release-e2e"))


@pytest.fixture
def signed(template: ReleaseRepo, tmp_path: Path) -> Iterator[tuple[ReleaseRepo, str]]:
    """A copy that signs its releases and records them in `production`; and the key's PEM."""
    repo = copy_of(template, tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    (repo.root / "keys").mkdir()
    (repo.root / "keys" / "release.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    text = (repo.root / "mlops.yaml").read_text()
    (repo.root / "mlops.yaml").write_text(
        text + "release:\n  environment: production\n"
        "  signing: {key: MLOPS_CI_SIGNING_KEY, public_key: keys/release.pub}\n"
    )
    git("add", "-A", cwd=repo.root)
    git("commit", "-qm", "Sign the releases", cwd=repo.root)
    yield repo, pem


def release_cli(repo: ReleaseRepo, api: FakeGitHub, tag: str, pem: str, *args: str):  # type: ignore[no-untyped-def]
    env = actions_env(repo, api, tag, MLOPS_CI_SIGNING_KEY=pem)
    return cli("release", *args, cwd=repo.root, env=env), env


def download(api: FakeGitHub, tag: str, into: Path) -> dict:  # type: ignore[type-arg]
    """Every asset of the release for *tag*, downloaded from the fake into *into*."""
    with GitHubClient(api.url, None) as client:
        release = find_release(client, REPO, tag)
        assert release is not None and not release["draft"]
        into.mkdir()
        for asset in list_assets(client, REPO, release["id"]):
            download_asset(client, REPO, asset, into / asset["name"], progress=False)
    return release


def test_a_tag_on_a_passing_commit_becomes_a_complete_signed_release(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub, tmp_path: Path
) -> None:
    repo, pem = signed
    github_api.add_release(tag="v1.0.0")  # published: the previous release
    sha = repo.commit_model(0.01, "Better model")  # acc 0.81 against v1.0.0's 0.8
    repo.tag("v1.1.0")
    result, env = release_cli(repo, github_api, "v1.1.0", pem)
    assert result.code == 0, result.stderr
    assert pem.splitlines()[1] not in result.stdout + result.stderr

    release = download(github_api, "v1.1.0", tmp_path / "download")
    files = tmp_path / "download"
    assert {p.name for p in files.iterdir()} == BUNDLE
    verify_directory(files, ignore=[SIGNATURE_NAME])
    verify_bundle(files, public_key=repo.root / "keys" / "release.pub")
    subprocess.run(["sha256sum", "-c", "--strict", "--quiet", SUMS_NAME], cwd=files, check=True)
    evidence = read_evidence(files)
    assert evidence["commit"] == sha and evidence["verdict"]["status"] == "pass"
    assert (evidence["artifact"], evidence["version"], evidence["tag"]) == (
        "churn", "v1.1.0", "v1.1.0")
    assert evidence["models"] == [{"file": "model.pkl", "format": "pickle", "trusted_types": []}]
    assert evidence["base"]["ref"] == "v1.0.0"  # judged against the previous release

    assert release["name"] == "churn v1.1.0" and release["prerelease"] is False
    body = release["body"]
    assert "Compared with the previous release `v1.0.0`" in body
    (chart,) = mermaid_blocks(body)
    assert mermaid_errors([chart]) == []
    assert 'x-axis ["v1.0.0", "v1.1.0"]' in chart and "line [0.8, 0.81]" in chart

    # the registry tag, annotated, with the gate record, on origin
    assert "churn@v1.1.0" in repo.origin_tags()
    assert git("cat-file", "-t", "churn@v1.1.0", cwd=repo.origin) == "tag"
    assert git("rev-parse", "churn@v1.1.0^{commit}", cwd=repo.origin) == sha
    message = git("tag", "-l", "--format=%(contents)", "churn@v1.1.0", cwd=repo.origin)
    assert message.splitlines()[:3] == [
        "mlops-ci release churn v1.1.0: pass", "", "acc min 0.5: pass (0.8100)"]

    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text().startswith("## churn v1.1.0\n")
    outputs = Path(env["GITHUB_OUTPUT"]).read_text()
    assert "release-url<<" in outputs and release["html_url"] in outputs
    assert "\nv1.1.0\n" in outputs  # tag and version
    (deployment,) = github_api.state.repo().deployments
    assert deployment.environment == "production" and deployment.ref == "v1.1.0"
    assert deployment.state == "success"

    # GTO reads our tag as a version of churn
    gto = Path(sys.executable).with_name("gto")
    shown = subprocess.run([str(gto), "show", "--json"], cwd=repo.root, env=clean_env(),
                           capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)["churn"]["version"] == "v1.1.0"


def test_a_rerun_publishes_nothing_twice(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub
) -> None:
    repo, pem = signed
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    first, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert first.code == 0, first.stderr
    uploads = len(github_api.calls("POST /repos/{owner}/{repo}/releases/{release_id}/assets"))
    tags = repo.origin_tags()

    again, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert again.code == 0, again.stderr
    assert "already published" in again.stderr
    assert len(github_api.state.repo().releases) == 1
    assert len(github_api.calls("POST /repos/{owner}/{repo}/releases/{release_id}/assets")) \
        == uploads
    assert repo.origin_tags() == tags
    assert len(github_api.state.repo().deployments) == 1


def test_a_prerelease_tag_makes_a_github_prerelease(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub
) -> None:
    repo, pem = signed
    repo.commit_model(0.01, "Candidate")
    repo.tag("v1.1.0-rc.1")
    result, _ = release_cli(repo, github_api, "v1.1.0-rc.1", pem)
    assert result.code == 0, result.stderr
    (release,) = github_api.state.repo().releases.values()
    assert release.prerelease and not release.draft
    assert "churn@v1.1.0-rc.1" in repo.origin_tags()


def test_a_registry_tag_of_this_version_on_another_commit_refuses_before_writing(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub
) -> None:
    repo, pem = signed
    git("tag", "-a", "churn@v1.1.0", "-m", "elsewhere", cwd=repo.root)
    git("push", "-q", "origin", "churn@v1.1.0", cwd=repo.root)
    git("tag", "-d", "churn@v1.1.0", cwd=repo.root)  # only origin has it
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    result, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert result.code == 2
    assert "'churn@v1.1.0' exists on origin" in result.stderr
    assert [r for r in github_api.requests if r.method != "GET"] == []


def test_an_interrupted_release_is_completed_by_the_rerun(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub, tmp_path: Path
) -> None:
    repo, pem = signed
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    github_api.inject("reset_mid_body", times=3, on=UPLOAD)
    first, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert first.code != 0 and "draft" in first.stderr
    assert "Traceback" not in first.stderr
    (draft,) = github_api.state.repo().releases.values()
    assert draft.draft
    assert "churn@v1.1.0" not in repo.origin_tags()  # no registry tag before the release

    again, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert again.code == 0, again.stderr
    (release,) = github_api.state.repo().releases.values()
    assert release.id == draft.id and not release.draft
    download(github_api, "v1.1.0", tmp_path / "download")
    verify_bundle(tmp_path / "download", public_key=repo.root / "keys" / "release.pub")
    assert "churn@v1.1.0" in repo.origin_tags()


def test_a_missing_key_or_a_key_unlike_the_public_one_publishes_nothing(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub
) -> None:
    repo, _ = signed
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    env = actions_env(repo, github_api, "v1.1.0")
    result = cli("release", cwd=repo.root, env=env)
    assert result.code == 2
    assert "MLOPS_CI_SIGNING_KEY" in result.stderr and "is not set" in result.stderr

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    result, _ = release_cli(repo, github_api, "v1.1.0", other)
    assert result.code == 2
    assert "does not verify with release.signing.public_key" in result.stderr
    assert other.splitlines()[1] not in result.stderr
    assert [r for r in github_api.requests if r.method != "GET"] == []
    assert "churn@v1.1.0" not in repo.origin_tags()


def test_fetch_verifies_and_installs_what_release_published(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub, tmp_path: Path
) -> None:
    repo, pem = signed
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    published, env = release_cli(repo, github_api, "v1.1.0", pem)
    assert published.code == 0, published.stderr
    dest = tmp_path / "deployed"
    fetched = cli("fetch", "churn", "--version", "v1.1.0", "--dest", str(dest),
                  "--public-key", "keys/release.pub", cwd=repo.root,
                  env={"GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": env["GITHUB_API_URL"]})
    assert fetched.code == 0, fetched.stderr
    assert {p.name for p in dest.iterdir()} == BUNDLE
    assert read_evidence(dest)["version"] == "v1.1.0"


def test_a_registry_tag_push_that_fails_is_pushed_by_the_rerun(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub
) -> None:
    repo, pem = signed
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    hook = repo.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected tags' >&2\nexit 1\n")
    hook.chmod(0o755)
    first, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert first.code == 2
    assert "pushing its registry tag 'churn@v1.1.0'" in first.stderr
    assert "protected tags" in first.stderr and "run the release again" in first.stderr
    assert "churn@v1.1.0" not in git("tag", "--list", cwd=repo.root)  # nothing half-done

    hook.unlink()
    again, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert again.code == 0, again.stderr
    assert "already published" in again.stderr
    assert "churn@v1.1.0" in repo.origin_tags()
    assert len(github_api.state.repo().releases) == 1


def test_the_registry_tag_mlops_ci_pushed_makes_no_second_release(
    signed: tuple[ReleaseRepo, str], github_api: FakeGitHub
) -> None:
    repo, pem = signed
    repo.commit_model(0.01, "Better model")
    repo.tag("v1.1.0")
    first, _ = release_cli(repo, github_api, "v1.1.0", pem)
    assert first.code == 0, first.stderr
    # the workflow runs again for the pushed churn@v1.1.0 (a token that triggers workflows)
    env = actions_env(repo, github_api, "churn@v1.1.0", MLOPS_CI_SIGNING_KEY=pem)
    twin = cli("release", cwd=repo.root, env=env)
    assert twin.code == 0, twin.stderr
    assert "registry tag of the release v1.1.0; nothing to release" in twin.stderr
    assert len(github_api.state.repo().releases) == 1
