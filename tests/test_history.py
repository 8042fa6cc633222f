"""Report.history from real tags: the primary metric at the last releases, the base, the head.

Real git and real DVC, in the release tests' repository (tests/release_repo.py): ``churn``
with ``acc`` primary and v1.0.0 (a bare tag) on main; each test tags more versions, GTO's way
(``churn@vX.Y.Z``, ``churn@vX.Y.Z!`` to deregister) and the bare way.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mermaid_check import mermaid_blocks, mermaid_errors
from release_repo import ReleaseRepo, build_template, copy_of

from conftest import clean_env, git
from mlops_ci.collect import collect_report
from mlops_ci.config import load_config
from mlops_ci.render import render_report_md
from mlops_ci.report import Report
from mlops_ci.revisions import default_base

_clock = [1714557600]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("history"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def tag(repo: ReleaseRepo, name: str, rev: str = "HEAD") -> None:
    """An annotated tag, each a second after the last (GTO orders events by tag date)."""
    _clock[0] += 1
    env = {**clean_env(), "GIT_COMMITTER_DATE": f"{_clock[0]} +0000"}
    subprocess.run(["git", "tag", "-a", name, "-m", f"tag {name}", rev], cwd=repo.root,
                   env=env, check=True, capture_output=True)


def report_of(repo: ReleaseRepo) -> Report:
    config = load_config(repo.root / "mlops.yaml")
    return collect_report(repo.root, config, default_base(repo.root, {}), {})


def history(report: Report) -> list[tuple[str, float, str]]:
    return [(p.label, p.value, p.kind) for p in report.history]


def releases(repo: ReleaseRepo) -> None:
    """v1.0.0 (acc 0.8, the template's), churn@v1.1.0 0.82, v1.2.0 0.84, churn@v1.3.0 0.85
    deregistered, then a feature branch at 0.86 off main at 0.85."""
    repo.commit_model(0.02, "acc 0.82")
    tag(repo, "churn@v1.1.0")
    repo.commit_model(0.04, "acc 0.84")
    tag(repo, "v1.2.0")
    repo.commit_model(0.05, "acc 0.85")
    tag(repo, "churn@v1.3.0")
    tag(repo, "churn@v1.3.0!")
    git("checkout", "-qb", "feature", cwd=repo.root)
    repo.commit_model(0.06, "acc 0.86")


def test_the_history_is_the_registered_releases_in_version_order_then_base_and_head(
    repo: ReleaseRepo,
) -> None:
    releases(repo)
    report = report_of(repo)
    assert history(report) == [
        ("v1.0.0", 0.8, "release"), ("v1.1.0", 0.82, "release"), ("v1.2.0", 0.84, "release"),
        ("base", 0.85, "base"), ("head", 0.86, "head"),
    ]  # v1.3.0 was deregistered: left out
    assert report.history[-1].low is None  # no predictions file: no interval
    assert Report.from_dict(report.to_dict()).history == report.history
    (chart,) = mermaid_blocks(render_report_md(report))  # what the comment draws of it
    assert mermaid_errors([chart]) == []
    assert '["v1.0.0", "v1.1.0", "v1.2.0", "base", "head"]' in chart
    assert chart.rstrip().endswith("line [0.8, 0.82, 0.84, 0.85, 0.86]")


def test_release_history_in_mlops_yaml_keeps_the_last_n(repo: ReleaseRepo) -> None:
    releases(repo)
    with (repo.root / "mlops.yaml").open("a") as f:
        f.write("release:\n  history: 2\n")
    assert [label for label, _, _ in history(report_of(repo))] == \
        ["v1.1.0", "v1.2.0", "base", "head"]


def test_a_release_whose_value_cannot_be_read_is_left_out(repo: ReleaseRepo) -> None:
    git("checkout", "-qb", "side", cwd=repo.root)
    (repo.root / "metrics.json").write_text('{"acc": 1e999, "loss": 0.2}')  # json: inf
    git("commit", "-qam", "overflow", cwd=repo.root)
    tag(repo, "churn@v0.9.0")
    (repo.root / "metrics.json").write_text('{"loss": 0.2}')
    git("commit", "-qam", "no acc", cwd=repo.root)
    tag(repo, "churn@v0.9.5")
    git("checkout", "-q", "main", cwd=repo.root)
    git("checkout", "-qb", "feature", cwd=repo.root)
    repo.commit_model(0.01, "acc 0.81")
    assert history(report_of(repo)) == [
        ("v1.0.0", 0.8, "release"), ("base", 0.8, "base"), ("head", 0.81, "head"),
    ]


def test_without_releases_the_history_is_the_base_and_the_head(repo: ReleaseRepo) -> None:
    git("tag", "-d", "v1.0.0", cwd=repo.root)
    git("checkout", "-qb", "feature", cwd=repo.root)
    repo.commit_model(0.01, "acc 0.81")
    assert history(report_of(repo)) == [("base", 0.8, "base"), ("head", 0.81, "head")]


def test_a_release_on_the_head_commit_is_the_head(repo: ReleaseRepo) -> None:
    git("checkout", "-qb", "feature", cwd=repo.root)
    repo.commit_model(0.01, "acc 0.81")
    tag(repo, "v1.1.0")
    assert history(report_of(repo)) == [
        ("v1.0.0", 0.8, "release"), ("base", 0.8, "base"), ("head", 0.81, "head"),
    ]


def test_without_a_primary_metric_there_is_no_history(repo: ReleaseRepo) -> None:
    mlops = repo.root / "mlops.yaml"
    mlops.write_text(mlops.read_text().replace("  primary: acc\n", ""))
    assert "primary" not in mlops.read_text()
    assert report_of(repo).history == []
