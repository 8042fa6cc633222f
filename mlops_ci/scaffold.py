"""`mlops-ci init DIR`: scaffold a complete, runnable example project that works offline.

The project is a git repository on branch ``main`` with DVC initialised and one commit: a
prepare → train → evaluate pipeline for a binary classifier on scikit-learn's bundled
breast-cancer data, its params, and an mlops.yaml with gates. Nothing is downloaded.
"""

from __future__ import annotations

import shutil
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from mlops_ci.errors import InputError
from mlops_ci.proc import dvc_command, git, run

# Packaged names that cannot be shipped as dotfiles, and the names they get in the project.
RENAMES = {"gitignore": ".gitignore"}

# Used only when the user has no git identity, so that the first commit can be made.
FALLBACK_IDENTITY = ("mlops-ci", "mlops-ci@users.noreply.github.com")


def example_files() -> dict[str, Traversable]:
    """The example project's files: relative path in the project → packaged file."""
    files: dict[str, Traversable] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            else:
                files[prefix + RENAMES.get(child.name, child.name)] = child

    walk(resources.files("mlops_ci") / "example", "")
    return dict(sorted(files.items()))


def init_project(directory: Path, *, force: bool = False) -> list[str]:
    """Write the example into *directory*, make it a git + DVC repo and commit. Returns the files.

    Refuses, before writing anything, when a file it would write exists (unless *force*).
    """
    directory = directory.resolve()
    files = example_files()
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} exists and is not a directory. Choose another path.")
    clashes = [name for name in files if (directory / name).exists()]
    if clashes and not force:
        shown = ", ".join(clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise InputError(
            f"{directory} already has {shown}; mlops-ci init does not overwrite files. "
            "Choose an empty directory, or pass --force to overwrite them."
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)

    if not (directory / ".git").exists():
        git("init", "--quiet", "--initial-branch=main", cwd=directory)
    if not (directory / ".dvc").exists():
        run(dvc_command("init", "--quiet"), cwd=directory, what="dvc init")
    git("add", "--all", cwd=directory)
    identity: list[str] = []
    if not git("config", "user.email", cwd=directory, check=False):
        identity = [
            "-c",
            f"user.name={FALLBACK_IDENTITY[0]}",
            "-c",
            f"user.email={FALLBACK_IDENTITY[1]}",
        ]
    if git("status", "--porcelain", cwd=directory):
        git(
            *identity,
            "commit",
            "--quiet",
            "-m",
            "Scaffold the mlops-ci example project",
            cwd=directory,
        )
    return list(files)
