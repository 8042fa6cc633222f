"""Which release `fetch` means, resolved from real git tags: tag, version, stage, latest."""

from __future__ import annotations

from pathlib import Path

import pytest
from tag_repo import TagRepo

from mlops_ci.errors import InputError
from mlops_ci.release.resolve import resolve


@pytest.fixture
def repo(tmp_path: Path) -> TagRepo:
    """churn v1.0.0 (first commit) and v1.1.0 (second), prod on v1.1.0, staging on v1.0.0."""
    repo = TagRepo(tmp_path / "repo")
    repo.tag("churn@v1.0.0")
    repo.tag("churn#staging#1")
    repo.commit("second")
    repo.tag("churn@v1.1.0")
    repo.tag("churn#prod#2")
    return repo


def names(repo: TagRepo, target: str, **kwargs: str) -> tuple[str, str, str, str | None]:
    found = resolve(repo.read(), target, **kwargs)
    return found.artifact, found.version, found.tag, found.stage


def test_a_release_tag_names_one_release(repo: TagRepo):
    found = resolve(repo.read(), "churn@v1.0.0")
    assert (found.artifact, found.version, found.tags, found.commit) == (
        "churn", "v1.0.0", ("churn@v1.0.0",), repo.commits[0]
    )
    assert found.stages == ("staging",)


def test_name_with_version_alone_and_latest(repo: TagRepo):
    assert names(repo, "churn", version="v1.0.0") == ("churn", "v1.0.0", "churn@v1.0.0", None)
    assert names(repo, "churn") == ("churn", "v1.1.0", "churn@v1.1.0", None)


def test_stage_follows_assignments_rollbacks_and_unassignments(repo: TagRepo):
    assert names(repo, "churn", stage="prod") == ("churn", "v1.1.0", "churn@v1.1.0", "prod")
    repo.tag("churn#prod#3", repo.commits[0], message="roll back")  # assign the older version
    assert names(repo, "churn", stage="prod")[1] == "v1.0.0"
    repo.tag("churn#prod!#4", repo.commits[0])  # unassign: back to the one assigned before
    assert names(repo, "churn", stage="prod")[1] == "v1.1.0"
    repo.tag("churn#prod!#5", repo.commits[1])
    with pytest.raises(InputError, match=r"No version of 'churn' is in stage 'prod'.*"
                       r"its stages: staging \(v1.0.0\)"):
        resolve(repo.read(), "churn", stage="prod")


def test_a_deprecated_model_is_refused_clearly(repo: TagRepo):
    repo.tag("churn@deprecated")
    with pytest.raises(InputError, match="'churn' is deprecated"):
        resolve(repo.read(), "churn", stage="prod")


def test_errors_name_what_exists(repo: TagRepo):
    with pytest.raises(InputError, match=r"no registered version v9.0.0.*v1.1.0, v1.0.0"):
        resolve(repo.read(), "churn", version="v9.0.0")
    with pytest.raises(InputError, match=r"no model named 'fraud'; it has: churn"):
        resolve(repo.read(), "fraud")
    with pytest.raises(InputError, match=r"'churn@v2.0.0' is not a registered release.*v1.1.0"):
        resolve(repo.read(), "churn@v2.0.0")
    with pytest.raises(InputError, match="not a version"):
        resolve(repo.read(), "churn", version="1.0")
    with pytest.raises(InputError, match="not both"):
        resolve(repo.read(), "churn", version="v1.0.0", stage="prod")
    with pytest.raises(InputError, match="drop --stage"):
        resolve(repo.read(), "churn@v1.0.0", stage="prod")
    with pytest.raises(InputError, match="not a release tag"):
        resolve(repo.read(), "churn#prod#2")


def test_a_lightweight_tag_is_not_a_release(repo: TagRepo):
    repo.lightweight("churn@v3.0.0")
    with pytest.raises(InputError, match="not a registered release"):
        resolve(repo.read(), "churn@v3.0.0")
    assert names(repo, "churn")[1] == "v1.1.0"


def test_a_bare_version_tag_beside_the_gto_tag_is_tried_after_it(tmp_path: Path):
    # a single-model repository: the user's v1.3.0 and mlops-ci release's churn@v1.3.0
    repo = TagRepo(tmp_path / "single")
    repo.tag("v1.3.0")
    repo.tag("churn@v1.3.0")
    assert resolve(repo.read(), "churn").tags == ("churn@v1.3.0", "v1.3.0")
    assert resolve(repo.read(), "v1.3.0").tags == ("v1.3.0", "churn@v1.3.0")


def test_bare_tags_alone_are_the_single_model(tmp_path: Path):
    repo = TagRepo(tmp_path / "bare")
    repo.tag("v1.0.0")
    repo.commit("next")
    repo.tag("v1.2.0")
    found = resolve(repo.read(), "model")
    assert (found.artifact, found.version, found.tags, found.label) == (
        "", "v1.2.0", ("v1.2.0",), "v1.2.0"
    )
    assert resolve(repo.read(), "v1.0.0").commit == repo.commits[0]
    with pytest.raises(InputError, match="bare vX.Y.Z tags, which have no stages"):
        resolve(repo.read(), "model", stage="prod")


def test_another_models_tag_on_the_same_commit_is_never_a_twin(tmp_path: Path):
    repo = TagRepo(tmp_path / "two")
    repo.tag("churn@v1.0.0")
    repo.tag("fraud@v1.0.0")
    repo.tag("v1.0.0")
    assert resolve(repo.read(), "churn").tags == ("churn@v1.0.0", "v1.0.0")
    assert resolve(repo.read(), "fraud").tags == ("fraud@v1.0.0", "v1.0.0")
    # a bare tag with two models on its commit: no way to tell whose it is, so no twin
    assert resolve(repo.read(), "v1.0.0").tags == ("v1.0.0",)
