"""Shallow checkouts: fetch from origin just the history a comparison needs.

actions/checkout fetches one commit by default (on `pull_request`, the merge commit of
``refs/pull/N/merge``, and no branch). On GitHub Actions, when the base is missing, mlops-ci
fetches it (``git fetch --no-tags --depth=N origin …``) and, while the merge-base of HEAD and
the base is not found, deepens both sides (``--deepen``), doubling the step each time, by at
most ``MLOPS_CI_FETCH_DEPTH`` commits (default :data:`DEFAULT_FETCH_DEPTH`). Each fetch says
what it fetched and why in one log line, runs with a time limit, and a failure is one sentence
with the fix. This is the one place that fetches.

A shallow boundary hides parents, so ``git merge-base`` can answer nothing, or a common
ancestor older than the real merge-base. An answer *X* is taken as exact only when no commit
that HEAD or the base reaches without reaching *X* is a boundary commit (``.git/shallow``):
then the history above *X* is complete, and no later common ancestor can hide behind it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from mlops_ci.errors import CommandError, CommandTimeoutError, InputError, RepositoryError
from mlops_ci.proc import format_seconds, git, run
from mlops_ci.security import log_safe

REMOTE = "origin"
FETCH_DEPTH_VARIABLE = "MLOPS_CI_FETCH_DEPTH"
DEFAULT_FETCH_DEPTH = 1000  # commits, on each side
MAX_FETCH_DEPTH = 1_000_000
FIRST_DEPTH = 50  # the first fetch; each deepening doubles the step
FETCH_TIMEOUT = 300.0  # seconds, for one git fetch
FULL_HISTORY_FIX = "check out the whole history (actions/checkout with `fetch-depth: 0`)"

Say = Callable[[str], None]

_SHA = re.compile(r"[0-9a-f]{40}")
# What no branch name holds (git check-ref-format), checked before a name reaches a refspec.
_NOT_A_BRANCH = re.compile(r"^[-/.]|\.\.|@\{|//|/$|\.lock$|\.$|[\x00-\x20\x7f~^:?*\[\\]")


def on_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def fetch_depth_bound(env: Mapping[str, str]) -> int:
    """How many commits mlops-ci may deepen each side by: ``MLOPS_CI_FETCH_DEPTH``, else 1000;
    the first fetch of a base branch is this deep at most too."""
    text = env.get(FETCH_DEPTH_VARIABLE, "").strip()
    if not text:
        return DEFAULT_FETCH_DEPTH
    if not text.isdigit() or not 1 <= int(text) <= MAX_FETCH_DEPTH:
        raise InputError(
            f"{FETCH_DEPTH_VARIABLE} is {text[:40]!r}, not a number of commits from 1 to "
            f"{MAX_FETCH_DEPTH:,}. Set it to how deep mlops-ci may fetch a shallow checkout's "
            f"history (default {DEFAULT_FETCH_DEPTH}), or leave it unset."
        )
    return int(text)


def is_branch_name(name: str) -> bool:
    return bool(name) and not _NOT_A_BRANCH.search(name) and not _SHA.fullmatch(name)


def say_on_stderr(line: str) -> None:
    print(log_safe(line), file=sys.stderr, flush=True)


def fetch(
    root: Path,
    wants: list[str],
    *,
    depth: int | None = None,
    deepen: int | None = None,
    shown: str,
    why: str,
    into: str | None = None,
    say: Say = say_on_stderr,
    timeout: float = FETCH_TIMEOUT,
) -> None:
    """`git fetch --no-tags` of *wants* (refspecs or SHAs) from origin, said in one line.

    *shown* names what is fetched and *why* the reason, both plain text for the log line. A
    failure or a timeout raises RepositoryError: one sentence and the fix.
    """
    limit = [f"--depth={depth}"] if depth else [f"--deepen={deepen}"] if deepen else []
    amount = (
        f" ({_commits(depth)} deep)" if depth else f" ({_commits(deepen)} deeper)" if deepen
        else ""
    )
    target = f" into {into}" if into else ""
    say(f"mlops-ci: fetching {shown} from {REMOTE}{target}{amount}: {why}")
    cmd = ["git", "fetch", "--no-tags", "--no-recurse-submodules", *limit, REMOTE, *wants]
    try:
        run(cmd, cwd=root, timeout=timeout, what="git fetch", merge_stderr=False)
    except CommandError as exc:
        raise RepositoryError(_unreachable(shown, exc, timeout)) from None


def _commits(count: int | None) -> str:
    return "1 commit" if count == 1 else f"{count} commits"


def _unreachable(shown: str, exc: CommandError, timeout: float) -> str:
    if isinstance(exc, CommandTimeoutError):
        return (
            f"Fetching {shown} from {REMOTE} took longer than {format_seconds(timeout)} and "
            f"was stopped. Check that the job can reach {REMOTE}, or {FULL_HISTORY_FIX}."
        )
    said = [line.strip() for line in exc.output_tail.splitlines() if line.strip()]
    # git's first "fatal:" line says what happened; the lines after it are general advice
    said = [line for line in said if line.startswith(("fatal:", "error:"))][:1] or said[-1:]
    detail = f" ({said[0][:300]})" if said else ""
    return (
        f"Fetching {shown} from {REMOTE} failed{detail}. Check that {REMOTE} is reachable "
        "with the job's credentials (actions/checkout keeps them unless "
        f"`persist-credentials: false`), or {FULL_HISTORY_FIX}."
    )


def fetch_named(root: Path, name: str, env: Mapping[str, str], say: Say = say_on_stderr) -> bool:
    """On Actions, fetch the one commit ``--base NAME`` names (a full SHA, a branch of origin
    into ``origin/NAME``, or a tag); False when there is nothing to fetch."""
    if not on_actions(env):
        return False
    why = "the checkout lacks the revision --base names"
    if _SHA.fullmatch(name):
        fetch_commit(root, name, why=why, say=say)
        return True
    branch = name.removeprefix(f"{REMOTE}/")
    if not is_branch_name(branch):
        return False
    refs = _remote_refs(root, branch)
    if f"refs/heads/{branch}" in refs:
        fetch_branch(root, branch, env=env, why=why, say=say, depth=1)
    elif f"refs/tags/{branch}" in refs and branch == name:
        fetch(root, [f"+refs/tags/{branch}:refs/tags/{branch}"], depth=1, shown=f"tag {branch}",
              why=why, say=say)
    else:
        return False
    return True


def _remote_refs(root: Path, name: str, timeout: float = FETCH_TIMEOUT) -> set[str]:
    """The branch and tag of origin called *name*, as full ref names."""
    cmd = ["git", "ls-remote", "--heads", "--tags", REMOTE, f"refs/heads/{name}",
           f"refs/tags/{name}"]
    try:
        out = run(cmd, cwd=root, timeout=timeout, what="git ls-remote", merge_stderr=False)
    except CommandError as exc:
        raise RepositoryError(_unreachable(f"the refs of {name}", exc, timeout)) from None
    return {line.split("\t", 1)[-1] for line in out.stdout.splitlines()}


def fetch_branch(
    root: Path, branch: str, *, env: Mapping[str, str], why: str, say: Say = say_on_stderr,
    depth: int | None = None,
) -> str:
    """Fetch *branch* into ``refs/remotes/origin/BRANCH``, *depth* (default 50) deep; its SHA."""
    depth = depth or min(FIRST_DEPTH, fetch_depth_bound(env))
    fetch(root, [f"+refs/heads/{branch}:refs/remotes/{REMOTE}/{branch}"], depth=depth,
          shown=f"branch {branch}", into=f"{REMOTE}/{branch}", why=why, say=say)
    sha = git("rev-parse", "--verify", "--quiet", f"refs/remotes/{REMOTE}/{branch}^{{commit}}",
              cwd=root, check=False)
    if not sha:
        raise RepositoryError(f"Fetching {branch} from {REMOTE} brought no commit.")
    return sha


def fetch_commit(
    root: Path, sha: str, *, why: str, depth: int = 1, say: Say = say_on_stderr
) -> None:
    """Fetch the commit *sha* (40 hex digits) and its trees, *depth* commits of history."""
    if not _SHA.fullmatch(sha):
        raise RepositoryError(f"{sha[:50]!r} is not a full commit SHA, so it cannot be fetched.")
    fetch(root, [sha], depth=depth, shown=f"commit {sha[:12]}", why=why, say=say)


def merge_base(
    root: Path,
    base_sha: str,
    *,
    ref: str,
    env: Mapping[str, str],
    say: Say = say_on_stderr,
    first_step: int = FIRST_DEPTH,
) -> str | None:
    """The merge-base of HEAD and *base_sha*, deepening a shallow checkout on Actions to find it.

    Outside Actions, or in a complete clone, this is ``git merge-base`` as it answers. On
    Actions in a shallow clone, both sides are deepened until the answer is exact (see the
    module's notes), by at most the bound; past it, a RepositoryError. *ref* names the base in
    messages.
    """
    found = _git_merge_base(root, base_sha)
    if not on_actions(env) or not _shallow(root):
        return found
    bound = fetch_depth_bound(env)
    head = git("rev-parse", "--verify", "HEAD^{commit}", cwd=root)
    reached, step = 0, min(first_step, bound)
    while _shallow(root) and not (found and _exact(root, head, base_sha, found)):
        if reached >= bound:
            raise RepositoryError(_not_reached(ref, bound, found))
        step = min(step, bound - reached)
        why = (
            f"the shallow checkout does not reach the merge-base of HEAD and {ref}"
            if not found
            else f"the shallow checkout may hide a later merge-base of HEAD and {ref}"
        )
        fetch(root, [base_sha, head], deepen=step, shown=f"HEAD and {ref}", why=why, say=say)
        reached += step
        step *= 2
        found = _git_merge_base(root, base_sha)
    return found


def _git_merge_base(root: Path, base_sha: str) -> str | None:
    # git gets the SHA, never the name: a name is data, and could read as an option
    return git("merge-base", "--end-of-options", "HEAD", base_sha, cwd=root, check=False) or None


def _shallow(root: Path) -> bool:
    return git("rev-parse", "--is-shallow-repository", cwd=root, check=False) == "true"


def boundary(root: Path) -> set[str]:
    """The commits whose parents a shallow clone lacks (``.git/shallow``)."""
    path = root / git("rev-parse", "--git-path", "shallow", cwd=root)
    try:
        return set(path.read_text(encoding="ascii").split())
    except FileNotFoundError:
        return set()


def _exact(root: Path, head: str, base_sha: str, found: str) -> bool:
    """Whether the history above *found* is complete, so that git's answer is the real one."""
    edge = boundary(root)
    if not edge:
        return True
    above = git("rev-list", head, base_sha, "--not", found, cwd=root).split()
    return not edge.intersection(above)


def _not_reached(ref: str, bound: int, found: str | None) -> str:
    what = (
        f"HEAD and {ref} share no commit" if found is None
        else f"the merge-base of HEAD and {ref} is not certain"
    )
    return (
        f"In this shallow checkout {what}, after deepening each side by {_commits(bound)} "
        f"(the most {FETCH_DEPTH_VARIABLE} allows). Set {FETCH_DEPTH_VARIABLE} higher, or "
        f"{FULL_HISTORY_FIX}."
    )
