"""The images of the declared plots in a release: bundle assets beside the card, which links
them by their asset names; listed in SHA256SUMS; refused when they leave the repository.

Real git and DVC: the pipeline's stage draws its PNGs with mlops_ci/evaluation/images.py, and
dvc.yaml declares them as plots (the evaluation's layout, `eval/plots/*.png`).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import dvc, git, new_dvc_repo
from mlops_ci.commands.common import open_project
from mlops_ci.commands.release import prepare, release
from mlops_ci.errors import InputError
from mlops_ci.release.assemble import bundle_card_report, bundle_sources
from mlops_ci.release.bundle import sha256_file, verify_directory
from mlops_ci.release.tagging import resolve_request
from mlops_ci.report import PlotDiff

TRAIN = """\
import json, pickle
from pathlib import Path
from mlops_ci.evaluation.images import write_images
pickle.dump({'weights': [0.8, 0.2]}, open('model.pkl', 'wb'))
json.dump({'acc': 0.8}, open('metrics.json', 'w'))
roc = [{'fpr': 0.0, 'tpr': 0.0}, {'fpr': 0.1, 'tpr': 0.7}, {'fpr': 1.0, 'tpr': 1.0}]
cells = [{'actual': a, 'predicted': p, 'count': 40 if a == p else 9} for a in 'ab' for p in 'ab']
write_images({'roc': roc, 'confusion': cells}, Path('eval/plots'), title='churn')
write_images({'roc': roc[::2]}, Path('figs'))
"""
DVC_YAML = f"""\
stages:
  train:
    cmd: {sys.executable} train.py
    deps: [train.py]
    outs: [model.pkl, eval, figs]
    metrics:
      - metrics.json:
          cache: false
plots:
  - eval/plots/roc.png
  - eval/plots/confusion.png
  - figs/roc.png
"""
MLOPS = """\
model: {name: churn, path: model.pkl}
metrics: {primary: acc}
gates:
  - metric: acc
    min: 0.5
"""
LINK = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("release-images") / "churn"
    new_dvc_repo(root)
    (root / "train.py").write_text(TRAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "mlops.yaml").write_text(MLOPS)
    (root / ".gitignore").write_text("/model.pkl\n/eval\n/figs\n.mlops/\n")
    dvc("repro", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "First model", cwd=root)
    git("tag", "-a", "v1.0.0", "-m", "Release v1.0.0", cwd=root)
    return root


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "churn"
    shutil.copytree(template, copy, symlinks=True)
    return copy


def staged_bundle(root: Path, staging: Path) -> tuple[Path, object]:
    """The bundle of v1.0.0 as the release builds it (a dry run's checks), in *staging*."""
    env = dict(os.environ)
    project = open_project(root, env)
    request = resolve_request(root, project.config, "v1.0.0")
    plan = prepare(project, request, client=None, repo=None, staging=staging, dry_run=True,
                   env=env, token=None, stderr=io.StringIO())
    return plan.bundle.directory, plan


@pytest.mark.slow
def test_the_bundle_holds_the_plot_images_and_its_card_links_them(
    root: Path, tmp_path: Path
) -> None:
    directory, plan = staged_bundle(root, tmp_path / "staging")
    names = sorted(os.listdir(directory))
    # figs/roc.png's base name is taken by eval/plots/roc.png: it is the asset figs-roc.png
    assert {"roc.png", "confusion.png", "figs-roc.png"} <= set(names)
    sources = {
        "roc.png": root / "eval" / "plots" / "roc.png",
        "confusion.png": root / "eval" / "plots" / "confusion.png",
        "figs-roc.png": root / "figs" / "roc.png",
    }
    sums = dict(line.split("  ")[::-1] for line in
                (directory / "SHA256SUMS").read_text().splitlines())
    for name, source in sources.items():
        assert (directory / name).read_bytes() == source.read_bytes()
        assert sums[name] == sha256_file(source)
        assert name in plan.bundle.sources  # type: ignore[attr-defined]
    verify_directory(directory)  # every file listed, nothing extra

    card = (directory / "model-card.md").read_text()
    links = LINK.findall(card)
    assert sorted(links) == sorted(sources)  # the asset names, not the repository's paths
    for link in links:
        assert (directory / link).is_file()
    assert "eval/plots" not in "".join(links)
    # report.json keeps the repository's paths
    report = json.loads((directory / "report.json").read_text())
    assert sorted(p["path"] for p in report["plots"]) == [
        "eval/plots/confusion.png", "eval/plots/roc.png", "figs/roc.png"]


@pytest.mark.slow
def test_the_dry_run_lists_the_images_with_their_digests(root: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = release(cwd=root, tag="v1.0.0", dry_run=True, env=dict(os.environ), stdout=out,
                   stderr=err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    for name, source in (("roc.png", "eval/plots/roc.png"), ("figs-roc.png", "figs/roc.png")):
        line = next(line for line in text.splitlines() if line.strip().startswith(name + " "))
        assert f"sha256:{sha256_file(root / source)}" in line


@pytest.mark.slow
def test_an_image_that_leaves_the_repository_is_refused(root: Path, tmp_path: Path) -> None:
    from mlops_ci.collect import collect_report
    from mlops_ci.revisions import resolve_base

    env = dict(os.environ)
    project = open_project(root, env)
    report = collect_report(root, project.config, resolve_base(root, "HEAD", env), env)
    assert len([p for p in report.plots if p.kind == "image"]) == 3
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    image = root / "eval" / "plots" / "roc.png"
    image.unlink()
    image.symlink_to(secret)  # swapped in after the report was read
    with pytest.raises(InputError, match=r"plot image 'eval/plots/roc.png' resolves to .* "
                                         r"outside the repository"):
        bundle_sources(root, project.config, report)


def images_report(paths: list[str]) -> object:
    from factories import make_report

    return make_report(plots=[
        PlotDiff(id=p, kind="image", title=p, path=p, head_md5="a" * 32) for p in paths])


def test_asset_names_that_would_collide_are_refused(tmp_path: Path) -> None:
    from mlops_ci.config import load_config

    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    (root / "mlops.yaml").write_text("model: {name: m, path: model.pkl}\n")
    report = images_report(["x/roc.png", "y/roc.png"])
    metrics = {m.file for m in report.metrics}  # type: ignore[attr-defined]
    for path in ("model.pkl", "dvc.lock", "x/roc.png", "y/roc.png", "y-roc.png", "params.yaml",
                 *metrics):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(b"x")
    config = load_config(root, pipeline=False)
    files, images = bundle_sources(root, config, report)  # type: ignore[arg-type]
    assert images == {"x/roc.png": "roc.png", "y/roc.png": "y-roc.png"}
    assert files["y-roc.png"] == (root / "y" / "roc.png").resolve()
    # the names do not depend on the order the report lists the plots in
    reordered = images_report(["y/roc.png", "x/roc.png"])
    assert bundle_sources(root, config, reordered)[1] == images  # type: ignore[arg-type]
    with pytest.raises(InputError, match="would both be the asset 'y-roc.png'.*rename one"):
        bundle_sources(root, config, images_report(["x/roc.png", "y/roc.png", "y-roc.png"]))


def test_the_bundle_card_embeds_only_images_in_the_bundle() -> None:
    from mlops_ci.card import render_card

    report = images_report(["eval/plots/roc.png", "eval/plots/pr.png"])
    bundled = bundle_card_report(report, {"eval/plots/roc.png": "roc.png"})  # type: ignore[arg-type]
    card = render_card(bundled, images_from="")
    assert LINK.findall(card) == ["roc.png"]
    assert "Image, **" in card.split("eval/plots/pr.png", 1)[1]  # still named, not embedded
    # the repository's card links the repository's paths, from .mlops/
    repo_card = render_card(report, images_from="..")  # type: ignore[arg-type]
    assert LINK.findall(repo_card) == ["../eval/plots/roc.png", "../eval/plots/pr.png"]
