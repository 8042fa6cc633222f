"""A past release's non-finite metric (JSON's 1e999 reads as inf) never reaches the notes'
Mermaid chart, which cannot parse it: it is listed as unreadable (release/notes.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_repo import ReleaseRepo, build_template, copy_of
from test_release import actions_env, run_release

from conftest import git
from github_fake.server import FakeGitHub
from mlops_ci.errors import EXIT_OK
from mlops_ci.release.notes import History, Point, history_chart


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("hostile-notes"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def _numbers(chart: str) -> list[str]:
    axis = re.search(r"y-axis \"[^\"]*\" (\S+) --> (\S+)", chart)
    line = re.search(r"line \[([^\]]*)\]", chart)
    assert axis and line, chart
    return [axis[1], axis[2], *(v.strip() for v in line[1].split(","))]


def test_the_chart_holds_only_finite_numbers() -> None:
    """history_chart leaves out a point whose value is not finite."""
    chart = history_chart(History("acc", (Point("v0.9.0", math.inf), Point("v1.1.0", 0.81))))
    bad = [n for n in _numbers(chart) if not math.isfinite(float(n))]
    assert not bad, f"Mermaid gets non-numbers {bad} (xychart-beta cannot parse them):\n{chart}"


def test_a_past_release_with_an_overflowing_metric_does_not_break_the_notes(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    """A published release whose metric overflowed is left out of the chart, and named."""
    github_api.add_release(tag="v1.0.0")
    github_api.add_release(tag="v0.9.0")  # both published: both in the history
    git("checkout", "-qb", "side", cwd=repo.root)
    (repo.root / "metrics.json").write_text('{"acc": 1e999, "loss": 0.2}')  # json: inf
    git("commit", "-qam", "overflow", cwd=repo.root)
    git("tag", "-a", "v0.9.0", "-m", "old", cwd=repo.root)
    git("checkout", "-q", "main", cwd=repo.root)
    repo.commit_model(0.01, "acc 0.81")
    repo.tag("v1.1.0")
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"))
    assert code == EXIT_OK, err
    (release,) = [r for r in github_api.state.repo().releases.values() if r.tag_name == "v1.1.0"]
    chart = release.body.split("```mermaid", 1)[1].split("```", 1)[0]
    bad = [n for n in _numbers(chart) if not math.isfinite(float(n))]
    assert not bad, f"the published notes' chart holds {bad}:\n{chart}"
    assert "their value could not be read: `v0.9.0`" in release.body
