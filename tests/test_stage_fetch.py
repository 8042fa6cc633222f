"""assign, a rollback and `fetch --stage` agree: the tags `mlops-ci assign` writes are the ones
`fetch` resolves, read from the local repository and through the GitHub API alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from release_bundles import build_release, files_of, key_pair, trained_model, tree
from tag_repo import TagRepo

from github_fake import FakeGitHub
from github_fake.git_data import seed_from_git
from mlops_ci.__main__ import main

REPO = "octo-org/ml-model"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return key_pair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, keys) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    model = trained_model()
    return {v: build_release(root / v, model=model, key=keys[0], version=v)
            for v in ("v1.0.0", "v1.1.0")}


def test_assign_rollback_and_fetch_stage_agree(
    github_api: FakeGitHub, tmp_path: Path, keys, bundles, monkeypatch, capsys,
) -> None:
    repo = TagRepo(tmp_path / "repo")
    repo.tag("churn@v1.0.0", message="mlops-ci release churn v1.0.0: pass")
    repo.commit("second")
    repo.tag("churn@v1.1.0", message="mlops-ci release churn v1.1.0: pass")
    for version in ("v1.0.0", "v1.1.0"):
        github_api.add_release(tag=f"churn@{version}", files=files_of(bundles[version]))
    monkeypatch.setenv("GITHUB_API_URL", github_api.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("MLOPS_CI_PROGRESS", "0")
    monkeypatch.chdir(repo.root)

    def run(*args: str | Path) -> tuple[int, str]:
        code = main([*map(str, args)])
        out, err = capsys.readouterr()
        return code, out + err

    def in_prod(dest: Path, *extra: str) -> str:
        code, text = run("fetch", "churn", "--stage", "prod", "--dest", dest,
                         "--public-key", keys[1], *extra)
        assert code == 0, text
        return next(v for v in ("v1.0.0", "v1.1.0") if tree(dest) == tree(bundles[v]))

    steps = [("v1.0.0", "v1.0.0"), ("v1.1.0", "v1.1.0"), ("v1.0.0", "v1.0.0")]  # last: rollback
    for number, (version, expected) in enumerate(steps, start=1):
        code, text = run("assign", "churn", version, "--stage", "prod", "--no-push")
        assert code == 0, text
        assert f"churn#prod#{number}" in text
        assert in_prod(tmp_path / f"local-{number}") == expected
        seed_from_git(github_api.state.repo(), repo.root)
        assert in_prod(tmp_path / f"api-{number}", "--repo", REPO) == expected
    # assigning the version already in the stage writes nothing, and fetch still agrees
    code, text = run("promote", "churn", "v1.0.0", "--stage", "prod", "--no-push")
    assert code == 0 and "churn#prod#4" not in text
    assert in_prod(tmp_path / "local-again") == "v1.0.0"
