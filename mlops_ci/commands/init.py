"""`mlops-ci init DIR [--template NAME]`: scaffold the example project, or a template's."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import InputError
from mlops_ci.scaffold import WORKFLOWS_DIR, InitResult, init_project


def init(
    *, directory: Path, force: bool, stdout: TextIO, workflows: bool = True,
    fork_safe: bool = False, deploy: bool = False, template: str | None = None,
) -> int:
    for flag, given in (("--fork-safe", fork_safe), ("--deploy", deploy)):
        if given and not workflows:
            raise InputError(
                f"{flag} chooses which workflows mlops-ci init writes, and --no-workflows "
                "writes none. Pass one of the two."
            )
    result = init_project(
        directory, force=force, workflows=workflows, fork_safe=fork_safe, deploy=deploy,
        template=template,
    )
    print(summary(result), file=stdout)
    # the stages run with the user's Python, which needs the example's libraries
    print(
        f"Next:\n    cd {shlex.quote(str(result.directory))}\n"
        "    python -m pip install -r requirements.txt\n    mlops-ci run",
        file=stdout,
    )
    missing = missing_stage_libraries() if result.template else []
    if missing:
        # `mlops-ci train` and `mlops-ci evaluate` run in mlops-ci's own environment
        print(
            f"The stages mlops-ci train and evaluate need {', '.join(missing)}, which the "
            f"Python of this mlops-ci lacks: install them with `python -m pip install "
            f"'{EVALUATE_EXTRA}'` where mlops-ci is installed.",
            file=stdout,
        )
    workflows_written = [
        Path(name).name for name in result.files if name.startswith(f"{WORKFLOWS_DIR}/")
    ]
    if workflows_written:
        names = ", ".join(workflows_written)
        print(f"On GitHub, the workflows in {WORKFLOWS_DIR}/ run it: {names}.", file=stdout)
    return 0


# What the built-in stages import (the `evaluate` extra): distribution → module.
EVALUATE_EXTRA = "mlops-ci[evaluate]"
STAGE_LIBRARIES = {
    "scikit-learn": "sklearn", "pandas": "pandas", "pyarrow": "pyarrow", "skops": "skops",
    "matplotlib": "matplotlib",
}


def missing_stage_libraries() -> list[str]:
    """The libraries of the `evaluate` extra this Python cannot import (none are imported)."""
    return [name for name, module in STAGE_LIBRARIES.items()
            if importlib.util.find_spec(module) is None]


def summary(result: InitResult) -> str:
    """What init did, in one sentence: the files, and the commit on the branch it really used."""
    where = f"on {result.branch}" if result.branch else "on a detached HEAD"
    commit = f"one commit {where}" if result.committed else f"already committed {where}"
    files = f"{len(result.files)} files, {commit}"
    project = f"the {result.template} project" if result.template else "the example project"
    if not result.existing_repository:
        if result.template:
            return f"Created {project}, a git + DVC project, in {result.directory} ({files})."
        return f"Created a git + DVC project in {result.directory} ({files})."
    return (
        f"Added {project} to the git repository {result.directory} ({files}); "
        "the commit holds only the files mlops-ci init wrote, and your other changes are as "
        "they were."
    )
