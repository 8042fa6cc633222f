"""Which git revisions a run compares: the repository root, the head, and the base.

The base defaults to what a reviewer compares a pull request with: the merge-base with
``$GITHUB_BASE_REF`` on GitHub Actions, else with ``main`` or ``master``, else ``HEAD`` itself
(the workspace's fresh results against the last commit). ``--base NAME`` is ``NAME``, else
``origin/NAME``, as git finds a branch in a fresh clone; the report names what was found.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mlops_ci import shallow
from mlops_ci.errors import CommandError, InputError, RepositoryError
from mlops_ci.proc import git, run

DEFAULT_BRANCHES = ("main", "master")
REMOTE = "origin"  # the remote a clone names; `--base main` falls back to `origin/main`


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


def resolve_base(root: Path, rev: str, env: Mapping[str, str] | None = None) -> BaseChoice:
    """The commit the user named with --base, or a RepositoryError that says how to get it.

    On GitHub Actions a branch, tag or full SHA the checkout lacks is fetched first (shallow.py).
    """
    name = rev.strip()
    problem = _not_one_revision(name)
    if problem:
        raise RepositoryError(f"--base {rev!r} {problem}")
    for attempt in range(2):
        for candidate in _names_for(name):
            sha = resolve(root, candidate)
            if sha is not None:
                shown = name if candidate == name else f"{name}, found as {candidate}"
                return BaseChoice(rev=sha, ref=candidate, description=f"--base {shown}")
        if attempt or not shallow.fetch_named(root, name, env or {}):
            break
    raise RepositoryError(_not_found(root, name))


def _names_for(name: str) -> tuple[str, ...]:
    """*name*, then the remote-tracking branch of that name, as `git checkout NAME` finds it.

    A fresh clone (and actions/checkout) has `origin/main` but no local `main`.
    """
    if name.startswith(f"{REMOTE}/"):
        return (name,)
    return (name, f"{REMOTE}/{name}")


def _not_one_revision(name: str) -> str | None:
    """Why *name* cannot be the one commit --base names, before asking git; None if it may be."""
    if not name:
        return (
            "is empty. Pass a branch, tag or commit SHA, or leave --base out to compare with "
            "the pull request's base branch."
        )
    if name.startswith("-"):
        return (
            "looks like an option, and a revision never starts with '-'. Pass a branch, tag or "
            "commit SHA."
        )
    if ".." in name:
        return (
            "is a range of commits, but --base names one commit. Pass the revision to compare "
            "with, such as the branch a range starts from."
        )
    return None


# `HEAD~1000`, `main^^`, `v1.0~2^2`: a revision, then steps back through its ancestors.
_ANCESTRY = re.compile(r"(?P<start>.+?)(?P<steps>(?:[~^][0-9]*)+)")


def _not_found(root: Path, name: str) -> str:
    steps = _ANCESTRY.fullmatch(name)
    start = None
    if steps:
        start = next(filter(None, map(partial(resolve, root), _names_for(steps["start"]))), None)
    if steps and start:
        depth = git("rev-list", "--count", "--first-parent", "--end-of-options", start, cwd=root)
        more = (
            "The checkout is shallow: fetch the whole history with `git fetch --unshallow` (or "
            "use actions/checkout with `fetch-depth: 0`)."
            if is_shallow(root)
            else "Pass a revision within it."
        )
        return (
            f"--base {name!r} goes back further than the history in {root}: "
            f"{steps['start']} has {depth} commit(s) on its first-parent line. {more}"
        )
    tried = " or ".join(repr(candidate) for candidate in _names_for(name))
    return f"--base {tried} not found in {root}. {_fetch_hint(root, name)}"


def default_base(root: Path, env: Mapping[str, str]) -> BaseChoice:
    """The merge-base with the pull request's base branch, else with main/master, else HEAD."""
    if not has_commits(root):
        return BaseChoice(rev=None, ref=None, description="no commit yet: every metric is new")
    base_ref = env.get("GITHUB_BASE_REF", "").strip()
    if base_ref:
        for candidate in (f"origin/{base_ref}", base_ref):
            sha = resolve(root, candidate)
            if sha:
                return _merge_base(
                    root, candidate, sha, f"merge-base with {candidate} ($GITHUB_BASE_REF)",
                    env=env,
                )
        if shallow.on_actions(env) and shallow.is_branch_name(base_ref):
            why = "the checkout lacks the pull request's base branch ($GITHUB_BASE_REF)"
            sha = shallow.fetch_branch(root, base_ref, env=env, why=why)
            return _merge_base(root, f"origin/{base_ref}", sha,
                               f"merge-base with origin/{base_ref} ($GITHUB_BASE_REF)", env=env)
        raise RepositoryError(
            f"The pull request's base branch {base_ref!r} ($GITHUB_BASE_REF) is not in this "
            f"checkout. {_fetch_hint(root, base_ref)}"
        )
    for name in DEFAULT_BRANCHES:
        for candidate in (name, f"origin/{name}"):
            sha = resolve(root, candidate)
            if sha:
                return _merge_base(root, candidate, sha, f"merge-base with {candidate}", env=env)
    head = resolve(root, "HEAD")
    return BaseChoice(rev=head, ref="HEAD", description="HEAD (no main or master branch)")


def _merge_base(
    root: Path, ref: str, sha: str, description: str, *, env: Mapping[str, str]
) -> BaseChoice:
    # a shallow checkout on Actions is deepened until the merge-base is certain
    merge_base = shallow.merge_base(root, sha, ref=ref, env=env)
    if not merge_base:
        raise RepositoryError(
            f"HEAD and {ref} share no commit in this checkout, so there is no base to compare "
            f"with. {_fetch_hint(root, ref)}"
        )
    return BaseChoice(rev=merge_base, ref=ref, description=description)


# What no branch or tag name holds (git check-ref-format), so not a name to suggest fetching.
_NOT_A_REF_NAME = re.compile(r"^-|\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]")


def _fetch_hint(root: Path, ref: str) -> str:
    branch = ref.removeprefix("origin/")
    if not branch or _NOT_A_REF_NAME.search(branch):
        # Not a name to put in a command the user may paste (an option, a range, a path).
        return "Fetch the revision you mean, or pass --base with a revision that exists."
    if is_shallow(root):
        return (
            "The checkout is shallow: fetch the base with "
            f"`git fetch --unshallow origin {shlex.quote(branch)}` "
            "(or use actions/checkout with `fetch-depth: 0`)."
        )
    return (
        f"Fetch it with `git fetch origin {shlex.quote(branch)}`, or pass --base with a "
        "revision that exists."
    )


def current_branch(root: Path) -> str | None:
    name = git("rev-parse", "--abbrev-ref", "HEAD", cwd=root, check=False)
    return None if name in ("", "HEAD") else name


def is_dirty(root: Path) -> bool:
    return bool(git("status", "--porcelain", "--untracked-files=no", cwd=root, check=False))


def show_file(root: Path, rev: str, path: str, *, limit: int | None = None) -> str | None:
    """The text of the file *path* at commit *rev*, or None when there is nothing there.

    An InputError when *path* is a directory, a symlink or a submodule there, or larger than
    *limit* bytes. Bytes that are not UTF-8 arrive as U+FFFD (the caller decides what that
    means).
    """
    if rev.startswith("-"):
        return None
    listing = git("ls-tree", "-l", "-z", "--end-of-options", rev, "--", path, cwd=root,
                  check=False)
    if not listing:
        return None
    meta, _, _ = listing.partition("\t")
    mode, _kind, sha, size = meta.split()
    where = f"{path} at {rev[:12]}"
    problem = _TREE_MODES.get(mode)
    if problem:
        raise InputError(f"{where} {problem}, not a file.")
    if limit is not None and size.isdigit() and int(size) > limit:
        raise InputError(f"{where} is {int(size):,} bytes, more than the {limit:,} allowed.")
    # run(), not git(): the text exactly as committed, trailing newlines and all
    return run(["git", "cat-file", "blob", sha], cwd=root, merge_stderr=False).stdout


# git's modes for what is not a regular file in a commit's tree.
_TREE_MODES = {
    "040000": "is a directory",
    "120000": "is a symbolic link",
    "160000": "is a submodule",
}
