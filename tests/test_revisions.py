"""Choosing the base revision, with real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from mlops_ci.errors import RepositoryError
from mlops_ci.revisions import default_base, find_root, resolve, resolve_base


def commit(root: Path, name: str) -> str:
    (root / name).write_text(name)
    git("add", name, cwd=root)
    git("commit", "--quiet", "-m", name, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git("init", "--quiet", "--initial-branch=main", cwd=tmp_path)
    return tmp_path


def test_no_commit_yet_means_no_base(repo: Path):
    choice = default_base(repo, {})
    assert choice.rev is None and "no commit" in choice.description


def test_on_main_the_base_is_head(repo: Path):
    head = commit(repo, "a")
    assert default_base(repo, {}).rev == head


def test_on_a_branch_the_base_is_the_merge_base_with_main(repo: Path):
    fork_point = commit(repo, "a")
    git("checkout", "--quiet", "-b", "feature", cwd=repo)
    commit(repo, "b")
    git("checkout", "--quiet", "main", cwd=repo)
    commit(repo, "c")  # main moved on; the base stays where the branch left it
    git("checkout", "--quiet", "feature", cwd=repo)
    choice = default_base(repo, {})
    assert (choice.rev, choice.ref) == (fork_point, "main")


def test_master_is_used_when_there_is_no_main(tmp_path: Path):
    git("init", "--quiet", "--initial-branch=master", cwd=tmp_path)
    first = commit(tmp_path, "a")
    git("checkout", "--quiet", "-b", "feature", cwd=tmp_path)
    commit(tmp_path, "b")
    assert default_base(tmp_path, {}).rev == first


def test_github_base_ref_wins(repo: Path):
    commit(repo, "a")
    git("checkout", "--quiet", "-b", "release", cwd=repo)
    release = commit(repo, "r")
    git("checkout", "--quiet", "-b", "feature", cwd=repo)
    commit(repo, "f")
    choice = default_base(repo, {"GITHUB_BASE_REF": "release"})
    assert choice.rev == release and "GITHUB_BASE_REF" in choice.description


def test_missing_github_base_ref_says_how_to_fetch(repo: Path):
    commit(repo, "a")
    with pytest.raises(RepositoryError, match="git fetch origin gone"):
        default_base(repo, {"GITHUB_BASE_REF": "gone"})


def test_explicit_base(repo: Path):
    first = commit(repo, "a")
    commit(repo, "b")
    assert resolve_base(repo, "HEAD~1").rev == first
    with pytest.raises(RepositoryError, match="'nope' not found"):
        resolve_base(repo, "nope")


def test_a_revision_that_looks_like_an_option_is_data(repo: Path):
    commit(repo, "a")
    assert resolve(repo, "--all") is None
    with pytest.raises(RepositoryError, match="'--output=x' not found"):
        resolve_base(repo, "--output=x")
    assert not (repo / "x").exists()


def test_find_root_from_a_subdirectory(repo: Path):
    (repo / "sub").mkdir()
    assert find_root(repo / "sub") == repo.resolve()


def test_find_root_outside_git(tmp_path: Path):
    (tmp_path / "plain").mkdir()
    # tmp_path itself may sit inside no repository; a fresh dir under it certainly does not
    with pytest.raises(RepositoryError, match="not inside a git repository"):
        find_root(tmp_path / "plain")
