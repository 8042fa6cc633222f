"""A base whose metrics cannot be read never passes silently (issue 7, sections 1 and 2).

Real git and real dvc, in the layouts DVC's documentation teaches: metrics inside a DVC-cached
output directory (with a local-directory remote standing in for S3), and a `cache: false`
metrics file that .gitignore keeps out of every commit.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from conftest import cli, dvc, git, new_dvc_repo, tree_state

WRITE = f"{sys.executable} evaluate.py"
EVALUATE = (
    "import json, os\nos.makedirs('eval', exist_ok=True)\n"
    "json.dump({'acc': float(open('score').read())}, open('eval/metrics.json', 'w'))\n"
)

CACHED_OUT = f"""\
stages:
  evaluate:
    cmd: {WRITE}
    deps: [score, evaluate.py]
    outs: [eval]
metrics:
  - eval/metrics.json
"""

UNCACHED_IGNORED = f"""\
stages:
  evaluate:
    cmd: {WRITE}
    deps: [score, evaluate.py]
    metrics:
      - eval/metrics.json:
          cache: false
"""

MLOPS = """\
model: {name: m, path: eval/metrics.json}  # the only output; no stage writes a model
gates:
  - metric: acc
    max_drop: 0.01
"""


def make_project(root: Path, dvc_yaml: str, *, mlops: str = MLOPS) -> None:
    """A base on main at acc 0.9, and a branch `change` whose model got worse (acc 0.5)."""
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text(dvc_yaml)
    (root / "mlops.yaml").write_text(mlops)
    (root / ".gitignore").write_text("/eval\n.mlops/\n")
    (root / "score").write_text("0.9")
    (root / "evaluate.py").write_text(EVALUATE)
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    git("checkout", "-qb", "change", cwd=root)
    (root / "score").write_text("0.5")


def report(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / ".mlops" / "report.json").read_text())


def test_cached_output_lost_from_cache_and_remote_fails_the_relative_gate(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root, CACHED_OUT)
    remote = tmp_path / "remote"
    dvc("remote", "add", "-d", "storage", str(remote), cwd=root)
    git("commit", "-qam", "remote", cwd=root)
    shutil.rmtree(root / ".dvc" / "cache" / "files")  # the base's objects: nowhere
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 1, result.stdout + result.stderr
    gate = report(root)["gates"][0]
    assert gate["verdict"] == "fail"
    assert "applies from the next change on" not in gate["explanation"]
    metric = report(root)["metrics"][0]
    assert metric["change"] == "unknown"
    note = metric["base_note"]
    assert "eval/metrics.json at main" in note and "'storage'" in note and "dvc push" in note
    assert "JSON or YAML" not in result.stdout + result.stderr
    assert "Base value missing" in (root / ".mlops" / "report.md").read_text()
    assert "Base value missing: eval/metrics.json at main" in (
        root / ".mlops" / "model-card.md"
    ).read_text()


def test_cached_output_is_read_from_the_remote_without_touching_the_workspace(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    make_project(root, CACHED_OUT)
    (root / "score").write_text("0.9")
    git("checkout", "-q", "main", cwd=root)
    dvc("remote", "add", "-d", "storage", str(tmp_path / "remote"), cwd=root)
    git("commit", "-qam", "remote", cwd=root)
    dvc("push", cwd=root)
    git("checkout", "-q", "change", cwd=root)
    git("merge", "-q", "main", cwd=root)
    (root / "score").write_text("0.5")
    dvc("repro", cwd=root)
    shutil.rmtree(root / ".dvc" / "cache" / "files")  # only the remote has the base's objects
    before = tree_state(root)
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 1, result.stdout + result.stderr  # acc fell 0.9 -> 0.5: a real fail
    data = report(root)
    assert data["metrics"][0]["base"] == 0.9
    assert "fell by" in data["gates"][0]["explanation"]
    after = {k: v for k, v in tree_state(root).items() if not k.startswith(".mlops/")}
    assert after == before  # the base's eval/ was read, never checked out


def test_uncached_metrics_file_no_commit_holds_fails_with_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root, UNCACHED_IGNORED)
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 1, result.stdout + result.stderr
    data = report(root)
    assert data["gates"][0]["verdict"] == "fail"
    note = data["metrics"][0]["base_note"]
    assert "cache: false" in note and "git add eval/metrics.json" in note


def test_missing_warn_softens_to_a_warning_that_says_why(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root, UNCACHED_IGNORED, mlops=MLOPS + "base:\n  missing: warn\n")
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    data = report(root)
    gate = data["gates"][0]
    assert (gate["verdict"], gate["severity"]) == ("fail", "warning")
    assert "cache: false" in gate["explanation"]
    assert data["verdict"]["warnings"] == 1


def test_a_metrics_file_the_base_does_not_declare_is_new(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _new_metric(root, UNCACHED_IGNORED)
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    gate = report(root)["gates"][0]
    assert gate["verdict"] == "new"
    # .gitignore keeps /eval out of every commit: the next change will have no base either
    assert "applies from the next change on" not in gate["explanation"]
    assert "cannot apply from the next change on either" in gate["explanation"]
    assert "eval/metrics.json is ignored by git and not cached by DVC" in gate["explanation"]
    assert "No base for the next change either" in (root / ".mlops" / "report.md").read_text()


def _new_metric(root: Path, dvc_yaml: str) -> None:
    """main declares no metrics; the branch adds the stage *dvc_yaml* declares."""
    make_project(root, dvc_yaml)
    git("checkout", "-q", "main", cwd=root)
    (root / "dvc.yaml").write_text("stages: {}\n")
    git("rm", "-q", "dvc.lock", cwd=root)
    git("commit", "-qam", "no metrics yet", cwd=root)
    git("checkout", "-q", "change", cwd=root)
    git("reset", "-q", "--soft", "main", cwd=root)
    (root / "dvc.yaml").write_text(dvc_yaml)


def test_a_new_metric_only_in_the_local_cache_says_the_next_change_needs_a_remote(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    _new_metric(root, CACHED_OUT)
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    metric = report(root)["metrics"][0]
    assert metric["change"] == "new"
    assert "no DVC remote is configured" in metric["next_base_note"]
    assert "cannot apply from the next change on" in report(root)["gates"][0]["explanation"]


def test_a_new_metric_that_a_remote_carries_applies_from_the_next_change_on(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    _new_metric(root, CACHED_OUT)
    dvc("remote", "add", "-d", "storage", str(tmp_path / "remote"), cwd=root)
    result = cli("run", "--base", "main", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    assert report(root)["metrics"][0]["next_base_note"] is None
    assert report(root)["gates"][0]["explanation"].endswith("applies from the next change on.")
