"""A repository to release from, for the release tests: real git, real DVC, a local remote.

``churn``: a stage trains a (pickled) model from the DVC-tracked `source` and params.yaml and
writes metrics.json; mlops.yaml gates `acc` (min 0.5, max_drop 0.05) with `acc` primary.
main holds the first model, tagged ``v1.0.0`` (annotated); the data is pushed to a
local-directory DVC remote; ``origin`` is a bare repository of its own per test.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import dvc, git, new_dvc_repo

TRAIN = """\
import json, pickle
score = float(open('source').read())
bonus = float(open('params.yaml').read().split('bonus:')[1].split()[0])
acc = round(score + bonus, 4)
pickle.dump({'weights': [acc, 1 - acc]}, open('model.pkl', 'wb'))
json.dump({'acc': acc, 'loss': round(1 - acc, 4)}, open('metrics.json', 'w'))
"""
DVC_YAML = f"""\
stages:
  train:
    cmd: {sys.executable} train.py
    deps: [source, train.py]
    params: [train.bonus]
    outs: [model.pkl]
    metrics:
      - metrics.json:
          cache: false
"""
MLOPS = """\
model: {name: churn, path: model.pkl}
metrics:
  primary: acc
  higher_is_better: {loss: false}
gates:
  - metric: acc
    min: 0.5
  - metric: acc
    max_drop: 0.05
"""


@dataclass
class ReleaseRepo:
    root: Path
    origin: Path
    remote: Path  # the DVC remote

    def commit_model(self, bonus: float, message: str) -> str:
        """Retrain with *bonus*, commit on the current branch; the new commit's SHA."""
        (self.root / "params.yaml").write_text(f"train:\n  bonus: {bonus}\n")
        dvc("repro", "-q", cwd=self.root)
        dvc("push", "-q", cwd=self.root)
        git("add", "-A", cwd=self.root)
        git("commit", "-qm", message, cwd=self.root)
        return git("rev-parse", "HEAD", cwd=self.root)

    def tag(self, name: str, *, annotated: bool = True) -> None:
        if annotated:
            git("tag", "-a", name, "-m", f"Release {name}", cwd=self.root)
        else:
            git("tag", name, cwd=self.root)
        git("push", "-q", "origin", f"refs/tags/{name}", cwd=self.root)

    def mark_released(self, version: str, artifact: str = "churn") -> None:
        """The registry tag a published release of *version* leaves (what an offline run
        counts as released): ``churn@vX.Y.Z``, "mlops-ci release churn vX.Y.Z: pass"."""
        git("tag", "-a", f"{artifact}@{version}", "-m",
            f"mlops-ci release {artifact} {version}: pass", f"{version}^{{commit}}",
            cwd=self.root)

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.root)

    def origin_tags(self) -> list[str]:
        return sorted(git("tag", "--list", cwd=self.origin).split())


def build_template(base: Path) -> ReleaseRepo:
    """The repository with v1.0.0 released on main (tag only), built once per module."""
    root = base / "churn"
    new_dvc_repo(root)
    remote = base / "dvc-remote"
    dvc("remote", "add", "-q", "-d", "storage", str(remote), cwd=root)
    (root / "source").write_text("0.8")
    dvc("add", "-q", "source", cwd=root)
    (root / "train.py").write_text(TRAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "mlops.yaml").write_text(MLOPS)
    (root / ".gitignore").write_text("/source\n/model.pkl\n.mlops/\n")
    repo = ReleaseRepo(root, base / "unused-origin.git", remote)
    repo.commit_model(0.0, "First model")
    git("tag", "-a", "v1.0.0", "-m", "Release v1.0.0", cwd=root)
    return repo


def copy_of(template: ReleaseRepo, into: Path) -> ReleaseRepo:
    """A private copy of *template* with an origin (bare) of its own holding main and tags."""
    root = into / "churn"
    shutil.copytree(template.root, root, symlinks=True)
    origin = into / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=into)
    git("remote", "remove", "origin", cwd=root) if "origin" in git(
        "remote", cwd=root).split() else None
    git("remote", "add", "origin", str(origin), cwd=root)
    git("push", "-q", "origin", "main", "--tags", cwd=root)
    return ReleaseRepo(root, origin, template.remote)
