"""Which metrics files the base revision should produce, and why one of them could not be read.

A metric is new only when the base provably does not produce its file: neither its dvc.yaml nor
its dvc.lock declares it (or an output directory holding it). Both are read at the base with git,
never checked out. When the base declares the file but DVC could not read it, the sentence here
names the file, the revision as the user knows it, the remote that was tried, and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.lockfile import LOCK_FILE, MAX_LOCK_BYTES, LockError, load_yaml, parse_lock
from mlops_ci.proc import git
from mlops_ci.revisions import show_file
from mlops_ci.security import read_regular_file, resolve_inside

DVC_FILE = "dvc.yaml"


@dataclass(frozen=True)
class Declared:
    """The paths a revision's dvc.yaml and dvc.lock declare, and whether DVC caches each."""

    cached: dict[str, bool]
    readable: bool = True  # False: dvc.yaml could not be read, so nothing is proven absent

    def holder(self, path: str) -> tuple[str, bool] | None:
        """The declared path that is *path* or a directory holding it, and if DVC caches it."""
        target = PurePosixPath(path)
        for declared, cached in self.cached.items():
            here = PurePosixPath(declared)
            if here == target or here in target.parents:
                return declared, cached
        return None


def declared_at(root: Path, rev: str) -> Declared:
    """What *rev*'s dvc.yaml and dvc.lock declare: outs, metrics and plots of every stage and
    the top-level `metrics:`; a dvc.yaml that cannot be read proves nothing absent."""
    try:
        text = show_file(root, rev, DVC_FILE, limit=MAX_LOCK_BYTES)
    except InputError:
        return Declared({}, readable=False)
    try:
        lock_text = show_file(root, rev, LOCK_FILE, limit=MAX_LOCK_BYTES)
    except InputError:
        lock_text = None
    return _declared(text, lock_text)


def declared_in_workspace(root: Path) -> Declared:
    """What the workspace's dvc.yaml and dvc.lock declare (both already checked by the run)."""
    texts: list[str | None] = []
    for name in (DVC_FILE, LOCK_FILE):
        try:
            path = resolve_inside(root, name, what=name)
            data = read_regular_file(path, what=name, limit=MAX_LOCK_BYTES)
            texts.append(data.decode("utf-8", errors="replace"))
        except FileNotFoundError:
            texts.append(None)
        except (InputError, OSError):
            return Declared({}, readable=False)
    return _declared(texts[0], texts[1])


def _declared(dvc_text: str | None, lock_text: str | None) -> Declared:
    cached: dict[str, bool] = {}
    try:
        data = load_yaml(dvc_text) if dvc_text else None
    except LockError:
        return Declared(cached, readable=False)
    if isinstance(data, dict):
        for path, cache in _entries(data.get("metrics")):
            cached.setdefault(path, cache)
        stages = data.get("stages")
        for stage in stages.values() if isinstance(stages, dict) else ():
            if isinstance(stage, dict):
                for key in ("outs", "metrics", "plots"):
                    for path, cache in _entries(stage.get(key)):
                        cached[path] = cache
    try:
        lock = parse_lock(lock_text) if lock_text else None
    except (InputError, LockError):
        lock = None
    # produced only if dvc.lock records the output: a pipeline never run there made nothing
    produced = {out.path for stage in (lock.stages if lock else ()) for out in stage.outs}
    kept = {p: c for p, c in cached.items() if Declared({q: True for q in produced}).holder(p)}
    return Declared({**{p: True for p in produced if p not in kept}, **kept})


def _entries(value: Any) -> list[tuple[str, bool]]:
    """`[a, {b: {cache: false}}]` → `[(a, True), (b, False)]`; anything else is skipped."""
    found: list[tuple[str, bool]] = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            found.append((item.removeprefix("./"), True))
        elif isinstance(item, dict):
            for path, options in item.items():
                cache = not (isinstance(options, dict) and options.get("cache") is False)
                found.append((str(path).removeprefix("./"), cache))
    return found


def unreadable_reason(
    path: str, declared: Declared, *, revision: str, branch: str, remote: str | None
) -> str | None:
    """Why *path* declared at the base could not be read there; None when the base does not
    declare it (its metrics are new)."""
    if not declared.readable:
        return (
            f"{path} could not be read at {revision}, and {DVC_FILE} there could not be read "
            "either, so it is unknown whether the base produces it."
        )
    holder = declared.holder(path)
    if holder is None:
        return None
    out, cached = holder
    if not cached:
        return (
            f"{path} at {revision} is declared `cache: false` in {DVC_FILE}, but no commit holds "
            f"it (is it in .gitignore?). Commit it on {branch}: remove it from .gitignore and "
            f"`git add {path}`, or let DVC cache it and `dvc push`."
        )
    inside = f", inside the DVC-cached output {out}," if out != path else ""
    tried = (
        f"is neither in the local DVC cache nor in the remote '{remote}'" if remote
        else "is not in the local DVC cache, and no DVC remote is configured"
    )
    fix = (
        f"Run `dvc push` from {branch} to upload it"
        if remote
        else f"Add one (`dvc remote add -d NAME URL`) and run `dvc push` from {branch}"
    )
    return (
        f"{path} at {revision}{inside} {tried}. {fix}."
    )


def next_base_problems(root: Path, files: list[str], *, remote: str | None) -> dict[str, str]:
    """The workspace's metrics *files* that a run on the next change, in a fresh clone, will
    not find at this revision, each with why and the fix: a file git ignores and DVC does not
    cache is in no commit; one only DVC caches needs a remote to travel."""
    if not files:
        return {}
    declared = declared_in_workspace(root)
    if not declared.readable:
        return {}
    problems: dict[str, str] = {}
    for path in dict.fromkeys(files):
        holder = declared.holder(path)
        if holder is not None and holder[1]:
            if remote is None:
                problems[path] = (
                    f"{path} is kept in this machine's DVC cache only and no DVC remote is "
                    "configured, so a fresh clone of the next change (as in CI) will not find "
                    "it. Add one (`dvc remote add -d NAME URL`) and run `dvc push`."
                )
        elif _ignored(root, path):
            problems[path] = (
                f"{path} is ignored by git and not cached by DVC, so no commit will hold it. "
                f"Remove it from .gitignore and `git add {path}`, or let DVC cache it and "
                "`dvc push`."
            )
    return problems


def _ignored(root: Path, path: str) -> bool:
    # without --no-index, a file git already tracks is not "ignored", whatever .gitignore says
    return bool(git("check-ignore", "--", path, cwd=root, check=False))


def default_remote(repo: Any) -> str | None:
    """The name of the DVC remote that reads at a revision fall back to, if one is set."""
    try:
        name = repo.config["core"].get("remote")
    except Exception:  # a config DVC itself could not read: no remote to name
        return None
    return str(name) if name else None
