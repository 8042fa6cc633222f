"""Writing the registry's tags (mlops_ci/registry_write.py) in real git repositories; the
commands' tests (test_assign.py) cover pushing to a bare remote and a refused push."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from conftest import clean_env, git
from mlops_ci.errors import RepositoryError
from mlops_ci.registry_write import NewTag, write_tags


@pytest.fixture
def root(tmp_path: Path) -> Path:
    git("init", "-q", "-b", "main", cwd=tmp_path)
    git("commit", "-q", "--allow-empty", "-m", "first", cwd=tmp_path)
    return tmp_path


def tagger_date(root: Path, tag: str) -> int:
    return int(git("for-each-ref", "--format=%(taggerdate:unix)", f"refs/tags/{tag}", cwd=root))


def test_a_new_tag_is_dated_after_the_newest_tag_even_one_a_second_ahead(root: Path):
    """GTO orders tags by their second: the new one must not share it with the last one."""
    ahead = int(time.time()) + 1
    env = {**clean_env(), "GIT_COMMITTER_DATE": f"{ahead} +0000"}
    subprocess.run(["git", "tag", "-a", "churn#prod#1", "-m", "before"], cwd=root, env=env,
                   check=True)
    write_tags(root, [NewTag("churn#prod!#2", "HEAD", "after")], push=False)
    assert tagger_date(root, "churn#prod!#2") > tagger_date(root, "churn#prod#1") == ahead


def test_a_tag_that_cannot_be_created_leaves_none_of_the_others(root: Path):
    git("tag", "churn#prod#2", cwd=root)  # taken (lightweight)
    with pytest.raises(RepositoryError, match="Could not create the tag 'churn#prod#2'"):
        write_tags(root, [NewTag("churn@v1.0.0", "HEAD", "registers"),
                          NewTag("churn#prod#2", "HEAD", "assigns")], push=False)
    assert git("tag", "--list", cwd=root) == "churn#prod#2"


def test_a_check_that_fails_after_writing_deletes_the_tags_before_any_push(
    root: Path, tmp_path_factory: pytest.TempPathFactory
):
    remote = tmp_path_factory.mktemp("remote") / "remote.git"
    git("init", "-q", "--bare", str(remote), cwd=root)
    git("remote", "add", "origin", str(remote), cwd=root)

    def verify() -> None:
        assert git("tag", "--list", cwd=root) == "churn#prod#1"  # written, not yet pushed
        raise RepositoryError("the registry does not read as asked")

    with pytest.raises(RepositoryError, match="does not read as asked"):
        write_tags(root, [NewTag("churn#prod#1", "HEAD", "m")], push=True, verify=verify)
    assert git("tag", "--list", cwd=root) == ""
    assert git("ls-remote", "--tags", str(remote), cwd=root) == ""
