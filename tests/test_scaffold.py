"""`mlops-ci init`: the example project it writes (real git and dvc, no `dvc repro` here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import Result, clean_env, cli, git, tree_state
from mlops_ci.config import load_config
from mlops_ci.errors import InputError
from mlops_ci.scaffold import example_files, init_project, scaffold_files


def test_init_makes_a_committed_git_and_dvc_project_on_main(tmp_path: Path):
    root = tmp_path / "demo"
    result = cli("init", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert git("branch", "--show-current", cwd=root) == "main"
    assert git("status", "--porcelain", cwd=root) == ""
    assert git("rev-list", "--count", "HEAD", cwd=root) == "1"
    tracked = set(git("ls-files", cwd=root).splitlines())
    assert {
        "dvc.yaml",
        "params.yaml",
        "mlops.yaml",
        ".gitignore",
        ".dvc/config",
        "src/prepare.py",
        "src/train.py",
        "src/evaluate.py",
    } <= tracked
    assert "cd " in result.stdout and "mlops-ci run" in result.stdout
    assert "pip install -r requirements.txt" in result.stdout


def test_the_pipeline_has_the_three_stages_and_git_tracked_metrics(tmp_path: Path):
    init_project(tmp_path / "p")
    dvc_yaml = yaml.safe_load((tmp_path / "p" / "dvc.yaml").read_text())
    stages = dvc_yaml["stages"]
    assert list(stages) == ["prepare", "train", "evaluate"]
    assert stages["train"]["outs"] == ["model.pkl"]  # the model is a DVC out
    assert stages["evaluate"]["metrics"] == [{"metrics.json": {"cache": False}}]


def test_the_scaffolded_mlops_yaml_is_valid_and_names_the_model(tmp_path: Path):
    init_project(tmp_path / "p")
    config = load_config(tmp_path / "p" / "mlops.yaml")
    assert config.model.path == "model.pkl"
    assert [g.metric for g in config.gates] == ["roc_auc", "accuracy", "f1", "log_loss"]


def test_init_refuses_to_overwrite_and_changes_nothing(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("mine: 1\n")
    with pytest.raises(InputError, match="params.yaml.*--force"):
        init_project(tmp_path)
    assert (tmp_path / "params.yaml").read_text() == "mine: 1\n"
    assert not (tmp_path / "dvc.yaml").exists()
    result = cli("init", str(tmp_path), cwd=tmp_path)
    assert result.code == 2 and "--force" in result.stderr and "Traceback" not in result.stderr


def test_force_overwrites(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("mine: 1\n")
    init_project(tmp_path, force=True)
    assert "train:" in (tmp_path / "params.yaml").read_text()


def test_init_into_a_file_path_is_a_clear_error(tmp_path: Path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        init_project(target)


def test_packaged_example_ships_the_dotfiles_under_their_real_names():
    assert ".gitignore" in example_files()
    assert "gitignore" not in example_files()


# --- into an existing repository: commit only what init wrote, on the branch really used -----


def porcelain(root: Path) -> list[str]:
    return git("status", "--porcelain", "--untracked-files=all", cwd=root).splitlines()


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A repository on `develop` with a commit and a staged, a modified and an untracked file."""
    root = tmp_path / "work"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=develop", cwd=root)
    (root / "tracked.txt").write_text("v1\n")
    git("add", "tracked.txt", cwd=root)
    git("commit", "--quiet", "-m", "User's first commit", cwd=root)
    (root / "tracked.txt").write_text("v2, not committed\n")
    (root / "staged.txt").write_text("staged, not committed\n")
    git("add", "staged.txt", cwd=root)
    (root / "untracked.txt").write_text("mine\n")
    (root / "notes").mkdir()
    (root / "notes" / "todo.md").write_text("untracked too\n")
    return root


def test_init_in_a_repository_commits_only_its_own_files(user_repo: Path):
    before = porcelain(user_repo)
    user_head = git("rev-parse", "HEAD", cwd=user_repo)
    result = cli("init", str(user_repo), cwd=user_repo)
    assert result.code == 0, result.stderr

    # The user's files are exactly as before: staged stays staged, the rest untouched
    user_files = ("tracked.txt", "staged.txt", "untracked.txt", "notes/")
    assert [ln for ln in porcelain(user_repo) if ln[3:].startswith(user_files)] == before
    assert (user_repo / "tracked.txt").read_text() == "v2, not committed\n"
    # and HEAD is one new commit on develop, holding init's files and dvc init's, nothing else
    assert git("rev-parse", "HEAD~1", cwd=user_repo) == user_head
    assert git("branch", "--show-current", cwd=user_repo) == "develop"
    committed = set(
        git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD", cwd=user_repo).split()
    )
    assert committed == set(scaffold_files()) | {".dvc/config", ".dvc/.gitignore", ".dvcignore"}
    # nothing of init's is left uncommitted
    assert [ln for ln in porcelain(user_repo) if not ln[3:].startswith(user_files)] == []
    # and the message names the branch it used, not main
    assert "one commit on develop" in result.stdout and "main" not in result.stdout


def test_init_in_a_dvc_repository_leaves_its_dvc_files_alone(user_repo: Path):
    dvc_config = user_repo / ".dvc" / "config"
    dvc_config.parent.mkdir()
    dvc_config.write_text("[core]\n    remote = mine\n")  # the user's own, uncommitted
    result = cli("init", str(user_repo), cwd=user_repo)
    assert result.code == 0, result.stderr
    committed = git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD", cwd=user_repo)
    assert set(committed.split()) == set(scaffold_files())
    assert dvc_config.read_text() == "[core]\n    remote = mine\n"
    assert "?? .dvc/config" in porcelain(user_repo)


def test_init_on_a_detached_head_says_so(user_repo: Path):
    git("checkout", "--quiet", "--detach", cwd=user_repo)
    result = cli("init", str(user_repo), cwd=user_repo)
    assert result.code == 0, result.stderr
    assert "one commit on a detached HEAD" in result.stdout


def test_the_suggested_cd_is_shell_quoted(tmp_path: Path):
    target = tmp_path / "my project $(x)"
    result = cli("init", str(target), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert f"cd '{target}'\n" in result.stdout


# --- targets init cannot use: one sentence, exit 2, nothing written -------------------------


def assert_refused(result, *needles: str) -> None:
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_init_under_a_regular_file(tmp_path: Path):
    (tmp_path / "somefile").write_text("x")
    before = tree_state(tmp_path)
    result = cli("init", "somefile/sub", cwd=tmp_path)
    assert_refused(result, f"{tmp_path / 'somefile'} is a file", "not under a file")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("force", [False, True], ids=["plain", "--force"])
def test_a_directory_where_init_writes_a_file(tmp_path: Path, force: bool):
    (tmp_path / "params.yaml").mkdir()
    before = tree_state(tmp_path)
    result = cli("init", str(tmp_path), *(["--force"] if force else []), cwd=tmp_path)
    assert_refused(result, f"{tmp_path / 'params.yaml'} is a directory where mlops-ci init")
    assert tree_state(tmp_path) == before and not (tmp_path / ".git").exists()


def test_a_file_where_init_needs_a_directory(tmp_path: Path):
    (tmp_path / "src").write_text("not a directory")
    result = cli("init", str(tmp_path), "--force", cwd=tmp_path)
    assert_refused(result, f"{tmp_path / 'src'} is a file where mlops-ci init needs a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_fifo_where_init_writes_a_file_is_not_opened(tmp_path: Path):
    os.mkfifo(tmp_path / "params.yaml")
    proc = subprocess.run(  # opening the FIFO for writing would block: bound the wait
        [sys.executable, "-m", "mlops_ci", "init", str(tmp_path), "--force"],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60,
    )
    assert_refused(proc_result(proc), "params.yaml is a named pipe (FIFO)")
    assert (tmp_path / "params.yaml").is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_a_symlink_out_of_the_directory_is_not_written_through(tmp_path: Path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("precious\n")
    project = tmp_path / "p"
    project.mkdir()
    (project / "params.yaml").symlink_to(outside)
    result = cli("init", str(project), "--force", cwd=tmp_path)
    assert_refused(result, "outside", "Remove the link")
    assert outside.read_text() == "precious\n" and (project / "params.yaml").is_symlink()


def test_init_where_it_cannot_write(tmp_path: Path):
    # Root writes through permissions, so use a place the kernel refuses to anyone: sysfs.
    sysfs = Path("/sys/kernel")
    if not sysfs.is_dir():
        pytest.skip("no /sys/kernel on this system: no directory that even root cannot write")
    target = sysfs / "mlops-ci-init-test"
    result = cli("init", str(target), cwd=tmp_path)
    assert_refused(result, "Cannot write", str(sysfs))
    assert not target.exists()


def test_init_in_a_directory_without_write_permission(tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("running as root, which writes regardless of permissions")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = cli("init", str(locked / "p"), cwd=tmp_path)
    assert_refused(result, "Cannot write in", "permission denied")
    assert list(locked.iterdir()) == []


def proc_result(proc: subprocess.CompletedProcess[str]) -> Result:
    return Result(proc.returncode, proc.stdout, proc.stderr)
