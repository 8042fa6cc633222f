"""Reading dvc.lock for a report, with real git and dvc: a bad lock at head stops the run with
one sentence; a bad lock at the base is reported as unreadable and the run goes on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_lockfile import BAD_LOCKS

from conftest import Result, clean_env, git, tree_state
from mlops_ci.collect import read_base_lock
from mlops_ci.report import load_report
from mlops_ci.revisions import BaseChoice

HEAD_CASES = [
    "a list",
    "stages a string",
    "a stage a list",
    "outs a mapping",
    "an entry without path",
    "size not a number",
    "size negative",
    "size a boolean",
    "md5 a list",
    "md5 a number",
]


def cli(*args: str, cwd: Path) -> Result:
    """The real entry point, bounded: a read that blocks (a FIFO) must fail the test, not hang."""
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_ci", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_one_sentence_exit_2(result: Result, *needles: str) -> None:
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("mlops-ci: error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# --- at head: the run stops, names dvc.lock and the fix, changes nothing ----------------------


@pytest.mark.parametrize("case", HEAD_CASES)
def test_a_malformed_lock_at_head_is_one_sentence_and_exit_2(project: Path, case: str):
    text, reason = BAD_LOCKS[case]
    (project / "dvc.lock").write_text(text)
    before = tree_state(project)
    result = cli("run", "--no-repro", cwd=project)
    assert_one_sentence_exit_2(result, f"{project / 'dvc.lock'} ", reason, "`dvc repro`")
    assert tree_state(project) == before
    assert not (project / ".mlops").exists()


def test_a_lock_at_head_that_is_not_utf8(project: Path):
    (project / "dvc.lock").write_bytes(b"stages:\n  tr\xe9in: {}\n")
    result = cli("diff", cwd=project)
    assert_one_sentence_exit_2(result, "dvc.lock is not UTF-8 text (byte 0xe9", "`dvc repro`")


def test_a_directory_at_head_is_named_as_one(project: Path):
    (project / "dvc.lock").unlink()
    (project / "dvc.lock").mkdir()
    result = cli("diff", cwd=project)
    assert_one_sentence_exit_2(result, "dvc.lock is a directory")
    assert (project / "dvc.lock").is_dir()


def test_a_fifo_at_head_is_refused_without_being_opened(project: Path):
    (project / "dvc.lock").unlink()
    os.mkfifo(project / "dvc.lock")
    result = cli("diff", cwd=project)  # opening the FIFO would block until the timeout
    assert_one_sentence_exit_2(result, "dvc.lock is a named pipe (FIFO)")
    assert (project / "dvc.lock").is_fifo()


def test_a_lock_symlinked_out_of_the_repository_is_not_read(project: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.lock"
    shutil.copy(project / "dvc.lock", outside)
    (project / "dvc.lock").unlink()
    (project / "dvc.lock").symlink_to(outside)
    result = cli("diff", cwd=project)
    assert_one_sentence_exit_2(result, "outside the repository")
    assert (project / "dvc.lock").is_symlink()


def test_an_empty_lock_at_head_is_one_sentence_as_dvc_refuses_it(project: Path):
    # DVC's own schema refuses an empty dvc.lock (`dvc repro` fails on it too), so mlops-ci
    # cannot know which files DVC would read: it says so instead of a traceback
    (project / "dvc.lock").write_text("")
    result = cli("run", "--no-repro", cwd=project)
    assert_one_sentence_exit_2(result, "dvc.lock", "`dvc repro`")
    assert not (project / ".mlops").exists()


# --- at the base: reported as unreadable, the run goes on --------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git("init", "--quiet", "--initial-branch=main", cwd=tmp_path)
    return tmp_path


def commit_lock(root: Path, content: str | bytes) -> BaseChoice:
    lock = root / "dvc.lock"
    lock.write_bytes(content.encode() if isinstance(content, str) else content)
    git("add", "dvc.lock", cwd=root)
    git("commit", "--quiet", "-m", "lock", cwd=root)
    return BaseChoice(rev=git("rev-parse", "HEAD", cwd=root), ref="main", description="test")


@pytest.mark.parametrize(("text", "reason"), BAD_LOCKS.values(), ids=BAD_LOCKS.keys())
def test_a_malformed_lock_at_the_base_is_a_note(repo: Path, text: str, reason: str):
    lock, note = read_base_lock(repo, commit_lock(repo, text))
    assert lock is None
    assert note is not None and note.startswith("dvc.lock at main ") and reason in note


def test_a_binary_lock_at_the_base_is_a_note(repo: Path):
    lock, note = read_base_lock(repo, commit_lock(repo, b"\x00\xff\xfe\x89PNG\r\n\x1a\n"))
    assert lock is None and note == "dvc.lock at main is not UTF-8 text."


def test_a_directory_or_symlink_at_the_base_is_a_note(repo: Path):
    (repo / "dvc.lock").mkdir()
    (repo / "dvc.lock" / "x").write_text("stages: {}\n")
    git("add", "dvc.lock", cwd=repo)
    git("commit", "--quiet", "-m", "dir", cwd=repo)
    rev = git("rev-parse", "HEAD", cwd=repo)
    lock, note = read_base_lock(repo, BaseChoice(rev=rev, ref=None, description="t"))
    assert lock is None and note == f"dvc.lock at {rev[:12]} is a directory, not a file."

    shutil.rmtree(repo / "dvc.lock")
    (repo / "dvc.lock").symlink_to("/etc/hostname")
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", "link", cwd=repo)
    rev = git("rev-parse", "HEAD", cwd=repo)
    lock, note = read_base_lock(repo, BaseChoice(rev=rev, ref=None, description="t"))
    assert lock is None and note is not None and "is a symbolic link" in note


def test_no_lock_at_the_base_is_no_note(repo: Path):
    (repo / "a").write_text("a")
    git("add", "a", cwd=repo)
    git("commit", "--quiet", "-m", "a", cwd=repo)
    rev = git("rev-parse", "HEAD", cwd=repo)
    assert read_base_lock(repo, BaseChoice(rev=rev, ref="main", description="t")) == (None, None)


BASE_CASES = {
    "not UTF-8": b"stages:\n  tr\xe9in: {}\n",
    "wrong shape": BAD_LOCKS["stages a string"][0].encode(),
    "size not a number": BAD_LOCKS["size not a number"][0].encode(),
}


@pytest.mark.parametrize("content", BASE_CASES.values(), ids=BASE_CASES.keys())
def test_a_bad_lock_at_the_base_does_not_block_the_pull_request(project: Path, content: bytes):
    good = (project / "dvc.lock").read_bytes()
    (project / "dvc.lock").write_bytes(content)
    git("commit", "--quiet", "-am", "Break the lock", cwd=project)
    (project / "dvc.lock").write_bytes(good)
    git("commit", "--quiet", "-am", "Mend the lock", cwd=project)

    result = cli("run", "--no-repro", "--base", "HEAD~1", cwd=project)
    assert result.code == 0, result.stderr
    report = load_report(project / ".mlops" / "report.json")  # validates against the schema
    assert report.lineage.model is not None and report.lineage.model.path == "model.pkl"
    assert report.lineage.base_model is None
    note = report.lineage.base_lock_error
    assert note is not None and note.startswith("dvc.lock at HEAD~1 ")
    raw = json.loads((project / ".mlops" / "report.json").read_text())
    assert raw["lineage"]["base_lock_error"] == note
    # the reviewer is told, and the model is not called "new" for want of a base lock
    markdown = (project / ".mlops" / "report.md").read_text()
    assert "The base's lineage is unknown: dvc.lock at HEAD\\~1 " in markdown
    assert "(new)" not in markdown.split("### Data and model versions")[1]
