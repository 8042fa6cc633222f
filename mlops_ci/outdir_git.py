"""Whether git keeps the output directory (``.mlops/``) out of the way: ignored, or tracked.

An output directory that is neither shows up in every `git status` and is one `git add -A` away
from a commit; `mlops-ci run` says so once, in one line, with the fix.
"""

from __future__ import annotations

from pathlib import Path

from mlops_ci.proc import run


def untracked_output_hint(root: Path, directory: Path, probe: Path) -> str | None:
    """One line when *directory* (holding the written file *probe*) is neither ignored nor
    tracked in the git repository at *root*; None when it is, or is outside the repository.
    """
    try:
        relative = directory.resolve().relative_to(root.resolve()).as_posix()
        file = probe.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    if relative == ".":
        return None
    ignored = run(
        ["git", "check-ignore", "--quiet", "--", file], cwd=root, check=False,
        merge_stderr=False,
    )
    if ignored.returncode != 1:  # 0: ignored; 128: not a repository, or git failed
        return None
    tracked = run(
        ["git", "ls-files", "--", relative], cwd=root, check=False, merge_stderr=False,
    )
    if tracked.returncode != 0 or tracked.stdout.strip():
        return None
    return (
        f"mlops-ci: hint: {relative}/ is neither ignored nor tracked by git; add `{relative}/` "
        "to .gitignore (as `mlops-ci init` does) so its files stay out of your commits."
    )
