"""`mlops-ci init DIR`: scaffold the example project."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from mlops_ci.scaffold import init_project


def init(*, directory: Path, force: bool, stdout: TextIO) -> int:
    files = init_project(directory, force=force)
    print(
        f"Created a git + DVC project in {directory} ({len(files)} files, one commit on main).",
        file=stdout,
    )
    print(f"Next:\n    cd {directory}\n    mlops-ci run", file=stdout)
    return 0
