"""Choosing the base revision, with real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import cli, git, tree_state
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
    not_found = "--base 'nope' or 'origin/nope' not found in .*git fetch origin nope"
    with pytest.raises(RepositoryError, match=not_found):
        resolve_base(repo, "nope")


def test_a_revision_that_looks_like_an_option_is_data(repo: Path):
    commit(repo, "a")
    assert resolve(repo, "--all") is None
    with pytest.raises(RepositoryError, match="'--output=x' looks like an option"):
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


# --- --base values that are not one revision: one sentence, no command built from them -------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "is empty"),
        (" ", "is empty"),
        ("main..feature", "is a range of commits"),
        ("main...feature", "is a range of commits"),
        ("-h", "looks like an option"),
        ("--upload-pack=touch pwned", "looks like an option"),
    ],
    ids=["empty", "blank", "range", "symmetric range", "-h", "--upload-pack"],
)
def test_a_base_that_is_not_one_revision_is_refused_before_git(repo: Path, value: str, says: str):
    commit(repo, "a")
    with pytest.raises(RepositoryError, match=says) as caught:
        resolve_base(repo, value)
    assert "git fetch" not in str(caught.value)
    assert not (repo / "pwned").exists()


def test_a_base_beyond_the_history_says_so(repo: Path):
    commit(repo, "a")
    commit(repo, "b")
    with pytest.raises(RepositoryError) as caught:
        resolve_base(repo, "HEAD~1000")
    message = str(caught.value)
    assert "'HEAD~1000' goes back further than the history" in message
    assert "HEAD has 2 commit(s)" in message
    assert "git fetch origin" not in message


def test_a_base_beyond_a_shallow_history_says_how_to_deepen_it(repo: Path, tmp_path: Path):
    commit(repo, "a")
    commit(repo, "b")
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--depth=1", f"file://{repo}", str(clone), cwd=tmp_path)
    with pytest.raises(RepositoryError, match="shallow.*`git fetch --unshallow`") as caught:
        resolve_base(clone, "HEAD~1")
    assert "HEAD~1`" not in str(caught.value)  # not a branch to fetch


def test_a_branch_name_in_a_suggested_command_is_shell_quoted(repo: Path):
    commit(repo, "a")
    with pytest.raises(RepositoryError) as caught:
        default_base(repo, {"GITHUB_BASE_REF": "feat$(reboot)&x"})
    assert "`git fetch origin 'feat$(reboot)&x'`" in str(caught.value)


@pytest.mark.parametrize("name", ["--upload-pack=touch pwned", "a b", "x..y", "ref:path"])
def test_a_base_branch_unfit_for_a_command_gets_no_command(repo: Path, name: str):
    commit(repo, "a")
    with pytest.raises(RepositoryError) as caught:
        default_base(repo, {"GITHUB_BASE_REF": name})
    assert "git fetch origin" not in str(caught.value)
    assert not (repo / "pwned").exists()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "is empty"),
        (" ", "is empty"),
        ("A..B", "is a range"),
        ("HEAD~1000", "goes back further than the history"),
        ("-h", "looks like an option"),
        ("--upload-pack=touch pwned", "looks like an option"),
    ],
)
def test_the_cli_refuses_a_bad_base_with_exit_2(project: Path, value: str, says: str):
    before = tree_state(project)
    result = cli("diff", "--base", value, cwd=project)
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"mlops-ci: error: --base {value!r} {says}")
    if value.startswith("-"):
        assert "git fetch" not in result.stderr and "upload-pack" not in result.stdout
    assert tree_state(project) == before and not (project / "pwned").exists()
