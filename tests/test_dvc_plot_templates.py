"""mlops_ci/dvc_plot_templates.py: mlops-ci's `confusion_count` template, installed into
`.dvc/plots/` and loaded by real `dvc plots show`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import new_dvc_repo
from mlops_ci.dvc_plot_templates import PLOT_TEMPLATES, install_plot_templates, template_text
from mlops_ci.errors import InputError

CELLS = [{"actual": "cat", "predicted": "cat", "count": 3_000_000},
         {"actual": "cat", "predicted": "dog", "count": 41},
         {"actual": "dog", "predicted": "cat", "count": 7},
         {"actual": "dog", "predicted": "dog", "count": 1_200_000}]
DVC_YAML = """\
plots:
  - cm.json:
      template: confusion_count
      x: actual
      y: predicted
"""


def show_json(root: Path) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=root,
        capture_output=True, text=True, env={**os.environ, "DVC_NO_ANALYTICS": "true"},
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout) if done.returncode == 0 else {}, done.stderr


def test_the_template_is_dvcs_confusion_summing_the_count_field() -> None:
    from dvc_render.vega_templates import ConfusionTemplate

    ours = json.loads(template_text("confusion_count"))
    dvcs = json.loads(json.dumps(ConfusionTemplate.DEFAULT_CONTENT))
    aggregate = ours["spec"]["transform"][0]["aggregate"]
    assert aggregate == [{"op": "sum", "field": "count", "as": "xy_count"}]
    assert dvcs["spec"]["transform"][0]["aggregate"] == [{"op": "count", "as": "xy_count"}]
    # everything else is DVC's: the same anchors, facets, layers; a description says why
    ours["spec"]["transform"][0]["aggregate"] = dvcs["spec"]["transform"][0]["aggregate"]
    assert "count" in ours.pop("description")
    assert ours == dvcs


@pytest.mark.slow
def test_dvc_plots_show_loads_the_installed_template(tmp_path: Path) -> None:
    root = new_dvc_repo(tmp_path / "repo")
    (root / "cm.json").write_text(json.dumps(CELLS))
    (root / "dvc.yaml").write_text(DVC_YAML)
    code, _, err = show_json(root)
    assert code != 0 and "confusion_count" in err  # DVC has no such template of its own

    assert install_plot_templates(root) == [root / ".dvc" / "plots" / "confusion_count.json"]
    code, shown, err = show_json(root)
    assert code == 0, err
    (plot,) = shown["data"]["cm.json"]
    spec = plot["content"]
    assert plot["type"] == "vega" and spec["description"].startswith("mlops-ci's confusion")
    assert spec["spec"]["transform"][0]["aggregate"] == [
        {"op": "sum", "field": "count", "as": "xy_count"}]
    assert spec["spec"]["transform"][0]["groupby"] == ["predicted", "actual"]
    values = spec["data"]["values"]
    assert [{k: v for k, v in row.items() if k != "rev"} for row in values] == CELLS
    assert {row["rev"] for row in values} == {"workspace"}
    assert spec["spec"]["encoding"]["x"]["field"] == "actual"


def test_a_template_already_there_is_left_as_it_is(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc" / "plots").mkdir(parents=True)
    mine = root / ".dvc" / "plots" / "confusion_count.json"
    mine.write_text('{"mine": true}')
    assert install_plot_templates(root) == []
    assert mine.read_text() == '{"mine": true}'


def test_a_dangling_symlink_is_not_written_through(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc" / "plots").mkdir(parents=True)
    target = tmp_path / "elsewhere.json"
    (root / ".dvc" / "plots" / "confusion_count.json").symlink_to(target)
    assert install_plot_templates(root) == []
    assert not target.exists()


def test_installs_every_template_and_creates_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    written = install_plot_templates(root)
    assert [p.name for p in written] == [f"{n}.json" for n in PLOT_TEMPLATES]
    assert all(p.read_text() == template_text(p.stem) for p in written)
    assert install_plot_templates(root) == []  # a second run writes nothing


def test_a_folder_that_leaves_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / ".dvc" / "plots").symlink_to(outside)
    with pytest.raises(InputError, match="outside the repository"):
        install_plot_templates(root)
    assert list(outside.iterdir()) == []


def test_a_directory_that_is_not_a_dvc_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a DVC repository.*dvc init"):
        install_plot_templates(tmp_path)
    assert not (tmp_path / ".dvc").exists()
