"""The report and the model card name the model's registered version and stages (issue 7, §5).

A real DVC project whose model is declared in dvc.yaml's `artifacts:`, tagged the way DVC's
model registry (GTO) tags it: annotated `churn@v1.2.0` and `churn#prod#1`. GTO itself (the
PyPI package `gto`, in the test extra) reads the same tags, as a cross-check.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_artifacts import GATES, ONE_MODEL, card, make_project, report

from conftest import clean_env, cli, git
from mlops_ci.registry import Registry, build_registry
from mlops_ci.registry_report import registry_info


class Tagger:
    """Annotated tags one second apart, so that GTO's order (the tagger date) is defined."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def tag(self, name: str, rev: str = "HEAD", message: str = "") -> None:
        dates = git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/", cwd=self.root)
        latest = max((int(d) for d in dates.split() if d), default=1714557600)
        date = f"{latest + 1} +0000"  # one second after every tag so far
        env = {**clean_env(), "GIT_COMMITTER_DATE": date}
        subprocess.run(
            ["git", "tag", "-a", name, "-m", message or f"tag {name}", rev],
            cwd=self.root, env=env, check=True,
        )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main at v1.2.0 in prod; the branch `change` one commit ahead, untagged."""
    root = make_project(tmp_path / "repo", ONE_MODEL, GATES)
    tags = Tagger(root)
    tags.tag("churn@v1.2.0", message="Release v1.2.0\n\n::error::not a workflow command")
    tags.tag("churn#prod#1")
    git("checkout", "-qb", "change", cwd=root)
    (root / "data.csv").write_text("0.8")
    git("commit", "-qam", "more data", cwd=root)
    git("tag", "churn@v9.0.0", cwd=root)  # lightweight: GTO ignores it, and so must we
    return root


def run(root: Path) -> dict:  # type: ignore[type-arg]
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    return report(root)


def test_base_is_named_by_its_registered_version_and_stage(repo: Path) -> None:
    data = run(repo)
    assert data["registry"] == {
        "artifact": "churn",
        "latest": "v1.2.0",
        "deprecated": False,
        "head": {"version": None, "stages": []},  # the lightweight v9.0.0 does not count
        "base": {"version": "v1.2.0", "stages": ["prod"]},
    }
    _, body = card(repo)
    assert (
        "- **Registry (`churn`):** this commit: no registered version; base: `v1.2.0` in "
        "`prod`; latest registered version: `v1.2.0`"
    ) in body
    markdown = (repo / ".mlops" / "report.md").read_text()
    assert "**Registry (`churn`):** head not registered · base `v1.2.0` in `prod` · latest" in (
        markdown
    )
    assert "latest `v1.2.0`\n\n### Metrics" in markdown
    assert "::error::" not in markdown + body  # tag messages are not carried into the report


def test_head_registered_and_promoted(repo: Path) -> None:
    tags = Tagger(repo)
    tags.tag("churn@v1.3.0")
    tags.tag("churn#staging#2")
    data = run(repo)
    assert data["registry"]["head"] == {"version": "v1.3.0", "stages": ["staging"]}
    assert data["registry"]["latest"] == "v1.3.0"
    _, body = card(repo)
    assert "- **Version:** `v1.3.0`, `" in body
    # the report reads back: validated against the schema, and the card rendered from it
    (repo / ".mlops" / "model-card.md").unlink()
    assert cli("card", cwd=repo).code == 0
    assert "this commit: `v1.3.0` in `staging`" in card(repo)[1]


def test_deregister_and_unassign_take_the_version_and_stage_away(repo: Path) -> None:
    tags = Tagger(repo)
    tags.tag("churn#prod!#2", rev="main")
    assert run(repo)["registry"]["base"] == {"version": "v1.2.0", "stages": []}
    tags.tag("churn@v1.2.0!", rev="main")
    registry = run(repo)["registry"]
    assert registry["base"] == {"version": None, "stages": []}
    assert registry["latest"] is None


def test_no_tags_at_all_says_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", ONE_MODEL, GATES)
    assert cli("run", "--no-repro", cwd=root).code == 0
    assert report(root)["registry"] is None
    _, body = card(root)
    assert "Registry" not in body
    assert "Registry" not in (root / ".mlops" / "report.md").read_text()


def test_tags_of_another_model_say_nothing(repo: Path) -> None:
    (repo / "mlops.yaml").write_text("model: {name: other, path: models/churn.pkl}\n" + GATES)
    assert run(repo)["registry"] is None


def test_the_report_names_what_gto_show_names(repo: Path) -> None:
    from gto.api import show

    data = run(repo)
    theirs = {v["version"]: sorted(s["stage"] for s in v["stages"]) for v in show(str(repo),
                                                                                  name="churn")}
    assert theirs == {"v1.2.0": ["prod"]}  # GTO too ignores the lightweight v9.0.0
    base = data["registry"]["base"]
    assert {base["version"]: base["stages"]} == theirs
    assert data["base"]["rev"] == git("rev-parse", "main", cwd=repo)


def test_registry_info_is_pure() -> None:
    assert registry_info(None, "churn", head="a" * 40, base=None) is None
    assert registry_info(build_registry([]), "churn", head="a" * 40, base=None) is None
    assert registry_info(Registry(artifacts={}, tag_names=("v1",)), "churn", head=None,
                         base=None) is None
