"""The pipeline's own plots, read at base and head with real git and real dvc (issue 7, §4).

The project is shaped like those DVC's documentation teaches: a top-level `plots:` section with
an ROC curve (`x: fpr, y: tpr`), a confusion matrix (`template: confusion`, rows of actual and
predicted classes) and an image, all inside a DVC-cached output directory; and a loss curve
declared as a stage's `plots:` output with `cache: false`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from mermaid_check import mermaid_blocks, mermaid_errors

from conftest import cli, dvc, git, new_dvc_repo, tree_state
from mlops_ci.errors import InputError
from mlops_ci.plots import MAX_PLOTS, MAX_POINTS, MAX_SERIES, read_plots

EVALUATE = """\
import csv, json, os
q = float(open('score').read())
n = int(open('points').read())
os.makedirs('eval', exist_ok=True)
json.dump({'acc': q}, open('eval/metrics.json', 'w'))
xs = [i / (n - 1) for i in range(n)]
json.dump({'roc': [{'fpr': x, 'tpr': x ** q} for x in xs]}, open('eval/roc.json', 'w'))
good = int(q * 20)
rows = [('cat', 'cat')] * good + [('cat', 'dog')] * (20 - good) + [('dog', 'dog')] * 10
json.dump([{'actual': a, 'predicted': p} for a, p in rows], open('eval/cm.json', 'w'))
open('eval/importance.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + str(q).encode())
with open('loss.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['epoch', 'loss'])
    w.writerows([e, 1 / (e + 1)] for e in range(5))
"""

DVC_YAML = f"""\
stages:
  evaluate:
    cmd: {sys.executable} evaluate.py
    deps: [score, points, evaluate.py]
    outs: [eval]
    plots:
      - loss.csv:
          x: epoch
          y: loss
          cache: false
metrics:
  - eval/metrics.json
plots:
  - eval/roc.json:
      x: fpr
      y: tpr
  - Confusion matrix:
      template: confusion
      x: actual
      y:
        eval/cm.json: predicted
  - eval/importance.png
"""


def png(q: float) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + str(q).encode()


def make_project(root: Path, *, lose_base_cache: bool = False) -> None:
    """main: score 0.9 and an 11-point ROC; branch `change`: score 0.5, 1,001 points.

    *lose_base_cache*: the base's objects are then in neither the cache nor a remote.
    """
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text(DVC_YAML)
    # the model is whatever the pipeline writes: a path no stage produces is refused
    (root / "mlops.yaml").write_text("model: {name: m, path: eval/metrics.json}\n")
    (root / ".gitignore").write_text("/eval\n.mlops/\n")
    (root / "evaluate.py").write_text(EVALUATE)
    (root / "score").write_text("0.9")
    (root / "points").write_text("11")
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    if lose_base_cache:
        shutil.rmtree(root / ".dvc" / "cache")
    git("checkout", "-qb", "change", cwd=root)
    (root / "score").write_text("0.5")
    (root / "points").write_text("1001")
    dvc("repro", cwd=root)


def by_id(report: dict) -> dict:  # type: ignore[type-arg]
    return {p["id"]: p for p in report["plots"]}


@pytest.mark.slow
def test_declared_plots_are_read_at_base_and_head(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    before = tree_state(root)
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    after = {k: v for k, v in tree_state(root).items() if not k.startswith(".mlops/")}
    assert after == before  # the base's plots came from the cache: the workspace is as it was

    report = json.loads((root / ".mlops" / "report.json").read_text())
    plots = by_id(report)
    assert set(plots) == {"eval/roc.json", "Confusion matrix", "eval/importance.png", "loss.csv"}

    roc = plots["eval/roc.json"]
    assert (roc["kind"], roc["x_label"], roc["y_label"]) == ("series", "fpr", "tpr")
    (head,), (base,) = roc["head"], roc["base"]
    assert (head["points"], head["resampled"], len(head["x"])) == (1001, True, MAX_POINTS)
    assert head["x"][0] == 0 and head["x"][-1] == 1
    assert all(abs(y - x**0.5) < 0.01 for x, y in zip(head["x"], head["y"], strict=True))
    assert (base["points"], base["resampled"]) == (11, False)
    assert base["y"] == [float(f"{(i / 10) ** 0.9:.7g}") for i in range(11)]

    confusion = plots["Confusion matrix"]
    assert confusion["kind"] == "confusion"
    assert confusion["base_matrix"] == {"labels": ["cat", "dog"], "counts": [[18, 2], [0, 10]],
                                        "omitted": 0}
    assert confusion["head_matrix"]["counts"] == [[10, 10], [0, 10]]

    image = plots["eval/importance.png"]
    assert image["base_md5"] == hashlib.md5(png(0.9)).hexdigest()
    assert image["head_md5"] == hashlib.md5(png(0.5)).hexdigest()

    loss = plots["loss.csv"]
    assert loss["base"] == loss["head"] and loss["head"][0]["x"] == [0, 1, 2, 3, 4]

    markdown = (root / ".mlops" / "report.md").read_text()
    blocks = mermaid_blocks(markdown)
    assert len(blocks) == 2 and mermaid_errors(blocks) == []
    assert 'x-axis "fpr" 0 --> 1' in blocks[0]
    assert "**10 → 10**" not in markdown and "**18 → 10**" in markdown
    assert "Image, **changed**" in markdown

    card = (root / ".mlops" / "model-card.md").read_text()
    link = re.search(r"!\[eval/importance\.png\]\(([^)]+)\)", card)
    assert link and link[1] == "../eval/importance.png"
    assert (root / ".mlops" / link[1]).read_bytes() == png(0.5)
    assert mermaid_errors(mermaid_blocks(card)) == []

    lines = result.stdout.split("Plots:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(lines) == 4 and "eval/importance.png: image, changed" in "\n".join(lines)


@pytest.mark.slow
def test_plots_lost_from_the_cache_are_noted_and_the_rest_still_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    make_project(root, lose_base_cache=True)
    monkeypatch.chdir(root)
    plots, omitted = read_plots(root, git("rev-parse", "main", cwd=root), base_name="main")
    found = {p.id: p for p in plots}
    assert omitted == 0, found
    assert set(found) == {"eval/roc.json", "Confusion matrix", "eval/importance.png", "loss.csv"}
    roc = found["eval/roc.json"]
    assert roc.base == [] and roc.head and roc.note
    assert roc.note.startswith("eval/roc.json at main, inside the DVC-cached output eval, is not")
    assert "run `dvc push` from main" in roc.note
    # DVC lists no plot of a revision whose cached directory it cannot open: loss.csv says why
    loss = found["loss.csv"]
    assert loss.base == [] and loss.note and "failed to load directory" in loss.note
    assert found["eval/importance.png"].base_md5 is None
    assert found["eval/importance.png"].head_md5 == hashlib.md5(png(0.5)).hexdigest()


@pytest.mark.slow
def test_a_plot_file_that_leaves_the_repository_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"roc": [{"fpr": 0, "tpr": 1}]}))
    (root / "eval" / "roc.json").unlink()
    (root / "eval" / "roc.json").symlink_to(secret)
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    assert result.code == 2, result.stdout + result.stderr
    assert "The plot file 'eval/roc.json' resolves to" in result.stderr
    assert "outside the repository" in result.stderr


@pytest.mark.slow
def test_plots_and_their_lines_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    fields = [f"y{i}" for i in range(MAX_SERIES + 2)]
    rows = [{"step": s, **{f: s * (i + 1) for i, f in enumerate(fields)}} for s in range(3)]
    for i in range(MAX_PLOTS + 3):
        (root / f"p{i:02}.json").write_text(json.dumps(rows))
    (root / "wide.json").write_text(json.dumps(rows))
    declared = "".join(f"  - p{i:02}.json\n" for i in range(MAX_PLOTS + 3))
    (root / "dvc.yaml").write_text(
        f"plots:\n  - wide.json:\n      x: step\n      y: {json.dumps(fields)}\n{declared}"
    )
    monkeypatch.chdir(root)
    plots, omitted = read_plots(root, None)
    assert (len(plots), omitted) == (MAX_PLOTS, 4)
    wide = next(p for p in plots if p.id == "wide.json")
    assert [s.name for s in wide.head] == fields[:MAX_SERIES]
    assert wide.note and "2 of 6 lines left out" in wide.note


def test_read_plots_refuses_a_fifo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    os.mkfifo(root / "roc.json")
    (root / "dvc.yaml").write_text("plots:\n  - roc.json:\n      x: fpr\n      y: tpr\n")
    monkeypatch.chdir(root)
    with pytest.raises(InputError, match="named pipe"):
        read_plots(root, None)


# --- confusion matrices of counted cells (mlops-ci's evaluation, template confusion_count) ---

CELLS_BASE = [{"actual": "cat", "predicted": "cat", "count": 3_000_000},
              {"actual": "cat", "predicted": "dog", "count": 41},
              {"actual": "dog", "predicted": "cat", "count": 7},
              {"actual": "dog", "predicted": "dog", "count": 1_200_000}]
CELLS_HEAD = [{**cell, "count": cell["count"] + 1} for cell in CELLS_BASE]


def cells_project(root: Path, dvc_yaml: str, *, install: bool) -> None:
    """eval/cm.json holds one record per cell with its count, at main and (changed) at head."""
    from mlops_ci.dvc_plot_templates import install_plot_templates

    new_dvc_repo(root)
    if install:
        assert install_plot_templates(root) == [root / ".dvc" / "plots" / "confusion_count.json"]
    (root / "eval").mkdir()
    (root / "eval" / "cm.json").write_text(json.dumps(CELLS_BASE))
    (root / "dvc.yaml").write_text(dvc_yaml)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    (root / "eval" / "cm.json").write_text(json.dumps(CELLS_HEAD))


COUNT_PLOTS = """\
plots:
  - Cells:
      template: confusion_count
      x: actual
      y:
        eval/cm.json: predicted
  - eval/cm.json:
      template: confusion
      x: actual
      y: predicted
"""


@pytest.mark.slow
@pytest.mark.parametrize("install", [True, False])
def test_a_confusion_matrix_of_counted_cells_sums_the_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install: bool
) -> None:
    root = tmp_path / "repo"
    cells_project(root, COUNT_PLOTS, install=install)
    monkeypatch.chdir(root)
    plots, omitted = read_plots(root, git("rev-parse", "main", cwd=root), base_name="main")
    found = {p.id: p for p in plots}
    assert omitted == 0 and set(found) == {"Cells", "eval/cm.json"}
    cells = found["Cells"]
    assert (cells.kind, cells.template, cells.note) == ("confusion", "confusion_count", None)
    assert cells.base_matrix and cells.head_matrix
    assert cells.base_matrix.labels == ["cat", "dog"]
    assert cells.base_matrix.counts == [[3_000_000, 41], [7, 1_200_000]]
    assert cells.head_matrix.counts == [[3_000_001, 42], [8, 1_200_001]]
    # DVC's own `confusion` template over the same one-record-per-cell file: each record has
    # a count and no cell repeats, so the counts are summed too
    same = found["eval/cm.json"]
    assert same.template == "confusion" and same.head_matrix == cells.head_matrix


@pytest.mark.slow
def test_rows_with_a_count_column_are_still_counted_one_per_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    rows = [{"actual": "a", "predicted": "a", "count": 5}] * 3 + [
        {"actual": "a", "predicted": "b", "count": 9}, {"actual": "b", "predicted": "b"}]
    (root / "rows.json").write_text(json.dumps(rows))
    (root / "dvc.yaml").write_text(
        "plots:\n  - rows.json:\n      template: confusion\n      x: actual\n      y: predicted\n")
    monkeypatch.chdir(root)
    (plot,), _ = read_plots(root, None)
    assert plot.head_matrix and plot.head_matrix.counts == [[3, 1], [0, 1]]


@pytest.mark.slow
def test_a_stage_plot_of_counted_cells_and_templates_dvc_cannot_find(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    (root / "cm.json").write_text(json.dumps(CELLS_BASE))
    (root / "not-json.json").write_text("this is not a template {")
    (root / "roc.json").write_text(json.dumps([{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}]))
    (root / "dvc.yaml").write_text(f"""\
stages:
  evaluate:
    cmd: {sys.executable} -c "print()"
    plots:
      - cm.json:
          cache: false
          template: confusion_count
          x: actual
          y: predicted
plots:
  - roc.json:
      template: not-json.json
      x: fpr
      y: tpr
  - Missing:
      template: no_such_template
      x: fpr
      y:
        roc.json: tpr
""")
    monkeypatch.chdir(root)
    plots, _ = read_plots(root, None)  # DVC opened no template: none could stop it
    found = {p.id: p for p in plots}
    assert found["cm.json"].head_matrix and found["cm.json"].head_matrix.counts == [
        [3_000_000, 41], [7, 1_200_000]]
    for name, template in (("roc.json", "not-json.json"), ("Missing", "no_such_template")):
        plot = found[name]
        assert (plot.kind, plot.template) == ("series", template)
        assert plot.head and plot.head[0].y == [0, 1]
