"""A frozen stage upstream of the model or its metrics refuses the release: `dvc status`
skips frozen stages, so it could not show that params and deps are the ones dvc.lock records
for the model (release/approve.py ``check_reproducible``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_repo import ReleaseRepo, build_template, copy_of
from test_release import run_release

from conftest import git
from mlops_ci.errors import EXIT_OK


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("hostile-repro"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def test_a_frozen_stage_with_changed_params_is_not_reproducible(repo: ReleaseRepo) -> None:
    """A frozen training stage whose params changed is refused, naming the stage."""
    # The model is the v1.0.0 one (md5 as dvc.lock records); params.yaml is no longer the
    # params that trained it (dvc.lock says train.bonus 0.0), and the stage is frozen, so
    # `dvc status` does not compare its deps with dvc.lock. (Edited outs ARE caught.)
    dvc_yaml = repo.root / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("  train:\n", "  train:\n    frozen: true\n"))
    (repo.root / "params.yaml").write_text("train:\n  bonus: 0.19\n")
    git("commit", "-qam", "Freeze, and better numbers", cwd=repo.root)
    git("tag", "-a", "v1.1.0", "-m", "x", cwd=repo.root)
    code, out, err = run_release(repo, dict(os.environ), tag="v1.1.0", dry_run=True)
    assert code != EXIT_OK, (
        "released as reproducible: params.yaml (an asset of the signed bundle) differs from "
        "the params dvc.lock records for the model, and only `frozen: true` hid it from "
        f"`dvc status`:\n{out}\n{err}"
    )
    assert "train" in err and "frozen: true" in err
