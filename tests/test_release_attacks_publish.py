"""The publishing path checks what it publishes against: origin's tags, the published assets.

Before anything is written, origin must be readable and hold the release tag on the commit
being released, and no registry tag of the version elsewhere (release/tagging.py
``check_origin``); a published release that a re-run finds is verified whole (signature
included); a backport is not made GitHub's Latest; the signing key stays out of git's
environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from release_repo import ReleaseRepo, build_template, copy_of
from test_release import actions_env, run_release, writes

from conftest import git
from github_fake.releases import sha256_digest
from github_fake.server import FakeGitHub
from mlops_ci.errors import EXIT_OK


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("hostile-publish"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def test_a_repository_without_origin_is_refused_before_anything_is_published(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """No remote `origin` is refused before the release is published, not after."""
    # `git ls-remote origin` fails in check_gto_tag and is read as "no tag there"; the
    # release is then published, and only the push of churn@v1.0.0 fails (exit 2).
    git("remote", "remove", "origin", cwd=repo.root)
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.0.0"))
    assert code != EXIT_OK, err
    assert writes(github_api) == [], (
        f"a failure foreseeable before any write (no remote 'origin' to push the registry "
        f"tag to) came after publishing the release:\n{err}"
    )
    assert "Cannot read the tags of the remote 'origin'" in err


def test_a_dry_run_reports_what_origin_would_refuse(repo: ReleaseRepo) -> None:
    """A dry run says the release would be refused for origin's tags, and goes on."""
    git("tag", "-a", "v1.0.1", "-m", "not pushed", cwd=repo.root)
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.1", dry_run=True)
    assert code == EXIT_OK, err
    assert "would be refused" in err and "has no tag 'v1.0.1'" in err


def test_a_registry_tag_on_another_commit_at_origin_is_found_even_when_ls_remote_fails(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """An origin that cannot be read refuses the release: "cannot tell" is not "no tag"."""
    # origin holds churn@v1.1.0 on the v1.0.0 commit (a stale registry tag). The check that
    # refuses it "before anything is written" silently passes when ls-remote cannot read
    # origin (here: origin is configured with a URL this job cannot read right now).
    git("tag", "-a", "churn@v1.1.0", "-m", "stale", cwd=repo.root)
    git("push", "-q", "origin", "refs/tags/churn@v1.1.0", cwd=repo.root)
    git("tag", "-d", "churn@v1.1.0", cwd=repo.root)
    repo.commit_model(0.01, "v1.1.0")
    repo.tag("v1.1.0")
    good = git("remote", "get-url", "origin", cwd=repo.root)
    git("remote", "set-url", "origin", good + ".unreachable", cwd=repo.root)
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"))
    assert writes(github_api) == [], (
        f"origin could not be read, so the stale registry tag was not seen, and the release "
        f"was published anyway (exit {code}):\n{err}"
    )


def test_the_signing_key_is_not_passed_to_git(
    repo: ReleaseRepo, github_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The signing key's variable is not in the environment of the git subprocesses."""
    # A `git` first on PATH that records its environment, then runs the real one.
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    text = (repo.root / "mlops.yaml").read_text()
    (repo.root / "mlops.yaml").write_text(text + "release:\n  signing: {key: RELEASE_KEY}\n")
    git("commit", "-qam", "Sign", cwd=repo.root)
    repo.tag("v1.0.1")  # and pushed to origin, as a tag push has it
    real = git("--exec-path", cwd=repo.root) + "/git"
    bindir = tmp_path / "spy"
    bindir.mkdir()
    log = tmp_path / "git-env.log"
    (bindir / "git").write_text(f"#!/bin/sh\nenv >> {log}\nexec {real} \"$@\"\n")
    (bindir / "git").chmod(0o755)
    env = actions_env(repo, github_api, "v1.0.1", RELEASE_KEY=pem)
    # tool_env() reads os.environ, as a real run's environment is the process's own
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    code, _, err = run_release(repo, env)
    assert code == EXIT_OK, err
    assert log.is_file()
    assert "RELEASE_KEY=" not in log.read_text(), (
        "the PEM private key (RELEASE_KEY) was in the environment of git subprocesses "
        "(ls-remote, push), which do not need it"
    )


def test_a_published_release_that_someone_else_made_is_verified_not_just_its_source_files(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """A re-run verifies a published signed release: SHA256SUMS and the signature too."""
    # The first run publishes a signed release. Someone with contents: write (not the key)
    # then replaces evidence.json (claims) and model.sig (garbage) of the published release.
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    (repo.root / "keys").mkdir()
    (repo.root / "keys" / "release.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    text = (repo.root / "mlops.yaml").read_text()
    (repo.root / "mlops.yaml").write_text(
        text + "release:\n  signing: {key: RELEASE_KEY, public_key: keys/release.pub}\n")
    git("add", "-A", cwd=repo.root)
    git("commit", "-qm", "Sign", cwd=repo.root)
    repo.tag("v1.0.1")  # and pushed to origin, as a tag push has it
    env = actions_env(repo, github_api, "v1.0.1", RELEASE_KEY=pem)
    code, _, err = run_release(repo, env)
    assert code == EXIT_OK, err
    (published,) = github_api.state.repo().releases.values()
    for asset in published.assets:
        if asset.name in ("evidence.json", "model.sig"):
            asset.content = b'{"verdict": {"status": "pass"}, "forged": true}\n'
            asset.digest = sha256_digest(asset.content)
            asset.size = len(asset.content)
    code, _, err = run_release(repo, env)
    assert code != EXIT_OK, (
        "a re-run reported the release as published and fine although its model.sig does not "
        "verify and evidence.json is not what was signed (only model/metrics/params/dvc.lock "
        f"are compared):\n{err}"
    )
    assert "its files do not verify" in err and "evidence.json" in err, err


def test_a_tag_that_origin_has_on_another_commit_is_refused(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """origin's copy of the release tag must be on the commit being released."""
    # origin's v1.1.0 (the tag GitHub attaches the release to) is on the v1.0.0 commit; the
    # clone's v1.1.0 is on HEAD (a tag moved with `git push --force` after the job started).
    first = repo.head()
    git("tag", "-a", "v1.1.0", "-m", "on the old commit", first, cwd=repo.root)
    git("push", "-q", "origin", "refs/tags/v1.1.0", cwd=repo.root)
    git("tag", "-d", "v1.1.0", cwd=repo.root)
    repo.commit_model(0.01, "acc 0.81")
    git("tag", "-a", "v1.1.0", "-m", "Release v1.1.0", cwd=repo.root)
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"))
    assert writes(github_api) == [], (
        f"published the bundle of {repo.head()[:12]} under a tag that origin (and so the "
        f"GitHub Release) has on {first[:12]} (exit {code}):\n{err}"
    )


def test_a_backport_release_does_not_become_githubs_latest_release(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """Only the highest non-prerelease version of the model becomes GitHub's Latest."""
    # v1.1.0 is released; then a patch of the older line, v1.0.1, branched from v1.0.0.
    # publish_release always sends make_latest "true" for a non-prerelease, so v1.0.1
    # becomes /releases/latest (what `gh release download` and .../releases/latest/download/
    # URLs serve) over the higher v1.1.0.
    repo.commit_model(0.01, "acc 0.81")
    repo.tag("v1.1.0")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"))
    assert code == EXIT_OK, err
    git("checkout", "-qb", "release-1.0", "v1.0.0", cwd=repo.root)
    repo.commit_model(0.005, "acc 0.805: a fix for the 1.0 line")
    repo.tag("v1.0.1")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.0.1"))
    assert code == EXIT_OK, err
    state = github_api.state.repo()
    latest = state.releases[state.latest_release_id].tag_name
    assert latest == "v1.1.0", f"GitHub's latest release is now {latest}, not v1.1.0"
    sent = github_api.calls("PATCH /repos/{owner}/{repo}/releases/{release_id}")[-1].body
    assert sent["make_latest"] == "false"


def test_latest_is_the_models_highest_non_prerelease_published_version() -> None:
    """is_latest: the highest non-prerelease among the model's published tags, bare or named;
    other models' releases and prereleases do not count."""
    from mlops_ci.release.previous import is_latest

    published = ["v1.1.0", "churn@v1.0.0", "fraud@v9.0.0", "v2.0.0-rc.1"]
    assert is_latest("v1.2.0", published, "churn", single=True)
    assert is_latest("v1.1.0", published, "churn", single=True)
    assert not is_latest("v1.0.1", published, "churn", single=True)
    assert not is_latest("v3.0.0-rc.1", published, "churn", single=True)
    assert is_latest("v1.0.1", published, "churn", single=False)  # bare tags: another model's
