"""`.mlops/` stays out of commits: `init` ignores it, `run` hints once when git neither ignores
nor tracks it; a card measured on a dirty workspace says so where it names the revision (§7).
"""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import cli, dvc, git, new_dvc_repo
from mlops_ci.scaffold import init_project

EVALUATE = "import json\njson.dump({'acc': 0.9}, open('metrics.json', 'w'))\n"
DVC_YAML = f"""\
stages:
  evaluate:
    cmd: {sys.executable} evaluate.py
    deps: [evaluate.py]
    metrics:
      - metrics.json:
          cache: false
"""
HINT = ".mlops/ is neither ignored nor tracked by git"


def test_init_in_a_repository_with_its_own_gitignore_adds_mlops_to_it(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    (root / ".gitignore").write_text("secrets.env")  # no final newline
    init_project(root)  # no --force: the user's .gitignore is merged, not a clash
    lines = (root / ".gitignore").read_text().splitlines()
    assert lines[0] == "secrets.env" and ".mlops/" in lines
    assert git("check-ignore", ".mlops/report.json", cwd=root) == ".mlops/report.json"
    init_project(root, force=True)  # again: nothing added twice
    assert (root / ".gitignore").read_text().splitlines().count(".mlops/") == 1


def test_run_hints_once_when_mlops_is_neither_ignored_nor_tracked(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "evaluate.py").write_text(EVALUATE)
    (root / "mlops.yaml").write_text("model: {name: m, path: metrics.json}\n")
    (root / "README.md").write_text("v1\n")
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "first", cwd=root)

    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 0, result.stderr
    assert result.stderr.count(HINT) == 1
    hint = next(line for line in result.stderr.splitlines() if HINT in line)
    assert "add `.mlops/` to .gitignore" in hint
    # a clean workspace: the card names the commit alone
    card = (root / ".mlops" / "model-card.md").read_text()
    assert "uncommitted" not in card

    (root / ".gitignore").write_text(".mlops/\n")
    git("add", ".gitignore", cwd=root)
    git("commit", "-qm", "ignore", cwd=root)
    (root / "README.md").write_text("v2, not committed\n")
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 0, result.stderr
    assert HINT not in result.stderr

    card = (root / ".mlops" / "model-card.md").read_text()
    head = git("rev-parse", "--short=7", "HEAD", cwd=root)
    assert f"- **Version:** `{head}` with uncommitted changes" in card
    assert f"Measured at `{head}` with uncommitted changes" in card
    report_md = (root / ".mlops" / "report.md").read_text()
    assert f"**Head:** `{head}`" in report_md and "with uncommitted changes" in report_md
    assert f"Measured at `{head}` with uncommitted changes" in report_md  # the folded card


def test_a_tracked_output_directory_gets_no_hint(tmp_path: Path) -> None:
    from mlops_ci.outdir_git import untracked_output_hint

    root = tmp_path / "repo"
    (root / ".mlops").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=root)
    probe = root / ".mlops" / "report.json"
    probe.write_text("{}")
    assert untracked_output_hint(root, root / ".mlops", probe) is not None
    git("add", ".mlops", cwd=root)
    assert untracked_output_hint(root, root / ".mlops", probe) is None
    outside = tmp_path / "out"
    outside.mkdir()
    assert untracked_output_hint(root, outside, outside / "report.json") is None
