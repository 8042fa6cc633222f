"""`mlops-ci init DIR`: scaffold the example project."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import InputError
from mlops_ci.scaffold import WORKFLOWS_DIR, InitResult, init_project


def init(
    *, directory: Path, force: bool, stdout: TextIO, workflows: bool = True,
    fork_safe: bool = False, deploy: bool = False,
) -> int:
    for flag, given in (("--fork-safe", fork_safe), ("--deploy", deploy)):
        if given and not workflows:
            raise InputError(
                f"{flag} chooses which workflows mlops-ci init writes, and --no-workflows "
                "writes none. Pass one of the two."
            )
    result = init_project(
        directory, force=force, workflows=workflows, fork_safe=fork_safe, deploy=deploy
    )
    print(summary(result), file=stdout)
    # the stages run with the user's Python, which needs the example's libraries
    print(
        f"Next:\n    cd {shlex.quote(str(result.directory))}\n"
        "    python -m pip install -r requirements.txt\n    mlops-ci run",
        file=stdout,
    )
    workflows_written = [
        Path(name).name for name in result.files if name.startswith(f"{WORKFLOWS_DIR}/")
    ]
    if workflows_written:
        names = ", ".join(workflows_written)
        print(f"On GitHub, the workflows in {WORKFLOWS_DIR}/ run it: {names}.", file=stdout)
    return 0


def summary(result: InitResult) -> str:
    """What init did, in one sentence: the files, and the commit on the branch it really used."""
    where = f"on {result.branch}" if result.branch else "on a detached HEAD"
    commit = f"one commit {where}" if result.committed else f"already committed {where}"
    files = f"{len(result.files)} files, {commit}"
    if not result.existing_repository:
        return f"Created a git + DVC project in {result.directory} ({files})."
    return (
        f"Added the example project to the git repository {result.directory} ({files}); "
        "the commit holds only the files mlops-ci init wrote, and your other changes are as "
        "they were."
    )
