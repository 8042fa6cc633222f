"""The classification template, followed as docs/init.md says, and on a fresh clone.

A hostile review's: the walkthrough's branch was compared with a main that had no results, and
a fresh clone (what the generated workflows run on) had no base predictions without a DVC
remote. The first test runs docs/init.md's commands as written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import clean_env, git

DOCS = Path(__file__).resolve().parent.parent / "docs" / "init.md"


def sh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def mlops_ci(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return sh(sys.executable, "-m", "mlops_ci", *args, cwd=cwd)


def gate(root: Path, metric: str) -> dict:  # type: ignore[type-arg]
    report = json.loads((root / ".mlops" / "report.json").read_text())
    (found,) = [g for g in report["gates"] if g["metric"] == metric and not g["slice"]]
    return found


def walkthrough() -> list[tuple[str, int]]:
    """docs/init.md's "To see the evidence at work" commands, each with its exit code."""
    text = DOCS.read_text(encoding="utf-8")
    after = text.split("To see the evidence at work", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block, "docs/init.md has no sh block after 'To see the evidence at work'"
    steps = []
    for line in block.group(1).splitlines():
        command, _, comment = line.partition("  #")
        code = re.search(r"exit code (\d+)", comment)
        steps.append((command.strip(), int(code.group(1)) if code else 0))
    return steps


def test_the_init_docs_demo_shows_the_noise_it_promises(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert mlops_ci("init", "--template", "classification", "--no-workflows", str(root),
                    cwd=tmp_path).returncode == 0
    # docs/init.md, word for word: `mlops-ci run`, then the walkthrough's steps
    assert mlops_ci("run", cwd=root).returncode == 0
    steps = walkthrough()
    assert any("git commit" in command for command, _ in steps[:2]), steps  # main first
    for command, code in steps:
        done = sh("bash", "-c", command, cwd=root)
        assert done.returncode == code, (command, done.stdout[-800:], done.stderr[-800:])
    # "McNemar's test and the paired bootstrap call within noise, so those gates pass"
    accuracy = gate(root, "accuracy")
    assert accuracy["significance"] == "within noise", (accuracy["verdict"],
                                                        accuracy["explanation"])
    f1 = gate(root, "f1")
    assert f1["verdict"] == "pass" and f1["significance"] == "within noise", f1["explanation"]


def test_the_template_gates_have_evidence_in_a_fresh_clone(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert mlops_ci("init", "--template", "classification", "--no-workflows", str(root),
                    cwd=tmp_path).returncode == 0
    assert mlops_ci("run", cwd=root).returncode == 0
    # the template's .gitignore (and DVC's) leave the predictions to git
    assert sh("git", "check-ignore", "-q", "eval/predictions.parquet", cwd=root).returncode == 1
    git("add", "-A", cwd=root)
    git("commit", "-qm", "Record the first results", cwd=root)
    assert "eval/predictions.parquet" in git("ls-files", cwd=root).splitlines()
    git("switch", "-qc", "shallower", cwd=root)
    params = (root / "params.yaml").read_text().replace("max_depth: 6", "max_depth: 2")
    (root / "params.yaml").write_text(params)
    git("commit", "-qam", "Shallower trees", cwd=root)
    clone = tmp_path / "clone"   # what the workflows init writes run on: a fresh checkout
    git("clone", "-q", "-b", "shallower", str(root), str(clone), cwd=tmp_path)
    done = mlops_ci("run", "--base", "origin/main", cwd=clone)
    accuracy = gate(clone, "accuracy")
    assert accuracy["significance"] == "within noise", (done.returncode, accuracy["verdict"],
                                                        accuracy["explanation"])
