"""The previous release a release is judged against is a version that was published.

A tag alone is not a release: a refused release leaves its tag behind, and a withdrawn
(deregistered) version is no longer the registry's. Counting either would let a relative gate
(``max_drop``) be ratcheted down one tag at a time (release/previous.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from release_repo import ReleaseRepo, build_template, copy_of
from test_release import actions_env, run_release, writes

from github_fake.server import FakeGitHub
from mlops_ci.errors import EXIT_GATE_FAILED


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("hostile-gates"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def test_a_refused_release_tag_is_not_the_previous_release(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """A version whose release was refused (its tag pushed, no GitHub Release) is skipped:
    the next one is judged against the last published release."""
    github_api.add_release(tag="v1.0.0")  # published
    # v1.0.0: acc 0.80.  v1.1.0: acc 0.60, refused (max_drop 0.05 against v1.0.0).
    repo.commit_model(-0.2, "acc 0.60")
    repo.tag("v1.1.0")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"), dry_run=True)
    assert code == EXIT_GATE_FAILED, err  # refused: never released, no GitHub Release
    assert [r.tag_name for r in github_api.state.repo().releases.values()] == ["v1.0.0"]

    # v1.1.1: acc 0.58 -- 0.22 below the last model anyone released; only 0.02 below the
    # refused v1.1.0, which release_base picks as "the previous release".
    repo.commit_model(-0.22, "acc 0.58")
    repo.tag("v1.1.1")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.1"), dry_run=True)
    assert writes(github_api) == []
    assert "against previous release v1.0.0" in err and "not counted: v1.1.0" in err, err
    assert code == EXIT_GATE_FAILED, (
        f"v1.1.1 (acc 0.58) passed max_drop 0.05 by being judged against the refused, "
        f"never-published v1.1.0 instead of v1.0.0 (acc 0.80):\n{err}"
    )


def test_a_deregistered_version_is_not_the_previous_release(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """A version withdrawn with `gto deregister` is not the previous release, though its
    bare tag and its GitHub Release remain."""
    import time

    from conftest import git

    github_api.add_release(tag="v1.0.0")

    # v1.1.0 (acc 0.76) was released: the bare tag and the registry tag mlops-ci writes.
    repo.commit_model(-0.04, "acc 0.76")
    repo.tag("v1.1.0")
    github_api.add_release(tag="v1.1.0")
    git("tag", "-a", "churn@v1.1.0", "-m", "mlops-ci release churn v1.1.0: pass", cwd=repo.root)
    time.sleep(1.1)  # GTO orders by tagger date, to the second
    # ... then withdrawn: `gto deregister churn v1.1.0`
    git("tag", "-a", "churn@v1.1.0!", "-m", "deregister: broken", cwd=repo.root)
    # v1.2.0: acc 0.72, 0.08 below v1.0.0 (the previous *registered* version): max_drop 0.05
    repo.commit_model(-0.08, "acc 0.72")
    repo.tag("v1.2.0")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.2.0"), dry_run=True)
    assert "against previous release v1.1.0" not in err and code == EXIT_GATE_FAILED, (
        f"v1.2.0 was judged against the deregistered v1.1.0 (its bare tag still counts):\n{err}"
    )


def test_offline_only_the_registry_tag_a_published_release_writes_counts(
    repo: ReleaseRepo,
) -> None:
    """Without GitHub (a local --dry-run), a version counts when the registry tag that
    publishing writes is there with a passing verdict; a bare tag alone does not."""
    import os

    from conftest import git

    repo.mark_released("v1.0.0")
    repo.commit_model(-0.2, "acc 0.60")
    repo.tag("v1.1.0")  # refused: no registry tag
    git("tag", "-a", "churn@v1.1.0", "-m", "mlops-ci release churn v1.1.0: fail", cwd=repo.root)
    repo.commit_model(-0.22, "acc 0.58")
    repo.tag("v1.1.1")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.1.1", dry_run=True)
    assert "against previous release v1.0.0" in err, err
    assert "registry tag churn@vX.Y.Z" in err and "not counted: v1.1.0" in err
    assert code == EXIT_GATE_FAILED
