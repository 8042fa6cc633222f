"""Which git revisions a run compares: the repository root, the head, and the base.

The base defaults to what a reviewer compares a pull request with: the merge-base with
``$GITHUB_BASE_REF`` on GitHub Actions, else with ``main`` or ``master``, else ``HEAD`` itself
(the workspace's fresh results against the last commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.errors import CommandError, RepositoryError
from mlops_ci.proc import git

DEFAULT_BRANCHES = ("main", "master")


@dataclass(frozen=True)
class BaseChoice:
    rev: str | None  # full SHA; None when the repository has no commit yet
    ref: str | None  # the name the user would recognise: "main", "origin/main", "HEAD", "v1.0"
    description: str  # how it was chosen, for the report


def find_root(start: Path) -> Path:
    """The top of the git work tree containing *start*."""
    try:
        return Path(git("rev-parse", "--show-toplevel", cwd=start))
    except CommandError:
        raise RepositoryError(
            f"{start} is not inside a git repository. Run mlops-ci in a clone of your project, "
            "or create one with `mlops-ci init DIR`."
        ) from None


def ensure_dvc_repo(root: Path) -> None:
    if not (root / ".dvc").is_dir():
        raise RepositoryError(
            f"{root} is not a DVC repository (no .dvc directory). Run `dvc init` there and "
            "commit the result, or scaffold a project with `mlops-ci init DIR`."
        )


def has_commits(root: Path) -> bool:
    return bool(git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=root, check=False))


def is_shallow(root: Path) -> bool:
    return git("rev-parse", "--is-shallow-repository", cwd=root, check=False) == "true"


def resolve(root: Path, rev: str) -> str | None:
    """The full SHA of the commit *rev* names, or None when git does not know it."""
    if rev.startswith("-"):  # a revision is data; never let it be read as an option
        return None
    sha = git(
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{rev}^{{commit}}",
        cwd=root,
        check=False,
    )
    return sha or None


def resolve_base(root: Path, rev: str) -> BaseChoice:
    """The commit the user named with --base, or a RepositoryError that says how to get it."""
    sha = resolve(root, rev)
    if sha is None:
        raise RepositoryError(
            f"Base revision {rev!r} not found in {root}. {_fetch_hint(root, rev)}"
        )
    return BaseChoice(rev=sha, ref=rev, description=f"--base {rev}")


def default_base(root: Path, env: Mapping[str, str]) -> BaseChoice:
    """The merge-base with the pull request's base branch, else with main/master, else HEAD."""
    if not has_commits(root):
        return BaseChoice(rev=None, ref=None, description="no commit yet: every metric is new")
    base_ref = env.get("GITHUB_BASE_REF", "").strip()
    if base_ref:
        for candidate in (f"origin/{base_ref}", base_ref):
            if resolve(root, candidate):
                return _merge_base(
                    root, candidate, f"merge-base with {candidate} ($GITHUB_BASE_REF)"
                )
        raise RepositoryError(
            f"The pull request's base branch {base_ref!r} ($GITHUB_BASE_REF) is not in this "
            f"checkout. {_fetch_hint(root, base_ref)}"
        )
    for name in DEFAULT_BRANCHES:
        for candidate in (name, f"origin/{name}"):
            if resolve(root, candidate):
                return _merge_base(root, candidate, f"merge-base with {candidate}")
    head = resolve(root, "HEAD")
    return BaseChoice(rev=head, ref="HEAD", description="HEAD (no main or master branch)")


def _merge_base(root: Path, ref: str, description: str) -> BaseChoice:
    sha = git("merge-base", "HEAD", ref, cwd=root, check=False)
    if not sha:
        raise RepositoryError(
            f"HEAD and {ref} share no commit in this checkout, so there is no base to compare "
            f"with. {_fetch_hint(root, ref)}"
        )
    return BaseChoice(rev=sha, ref=ref, description=description)


def _fetch_hint(root: Path, ref: str) -> str:
    branch = ref.removeprefix("origin/")
    if is_shallow(root):
        return (
            f"The checkout is shallow: fetch the base with `git fetch --unshallow origin {branch}` "
            "(or use actions/checkout with `fetch-depth: 0`)."
        )
    return f"Fetch it with `git fetch origin {branch}`, or pass --base with a revision that exists."


def current_branch(root: Path) -> str | None:
    name = git("rev-parse", "--abbrev-ref", "HEAD", cwd=root, check=False)
    return None if name in ("", "HEAD") else name


def is_dirty(root: Path) -> bool:
    return bool(git("status", "--porcelain", "--untracked-files=no", cwd=root, check=False))


def show_file(root: Path, rev: str, path: str) -> str | None:
    """The text of *path* at *rev*, or None when it does not exist there."""
    try:
        return git("show", f"{rev}:{path}", cwd=root)
    except CommandError:
        return None
