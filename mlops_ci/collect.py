"""Read everything a Report needs from a repository: revisions, metrics, params and dvc.lock.

This is the I/O half of computing a report; ``build.py`` is the pure half.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from mlops_ci.build import build_report
from mlops_ci.config import Config
from mlops_ci.errors import InputError
from mlops_ci.evidence_report import attach_evidence
from mlops_ci.lockfile import LOCK_FILE, MAX_LOCK_BYTES, Lock, LockError, decode_lock, parse_lock
from mlops_ci.pipeline import read_snapshots
from mlops_ci.plots import read_plots
from mlops_ci.reads import check_workspace_reads
from mlops_ci.registry import read_registry
from mlops_ci.report import Report, Revision
from mlops_ci.revisions import BaseChoice, current_branch, is_dirty, resolve, show_file
from mlops_ci.security import read_regular_file, resolve_inside, special_file_problem

MAX_NOTE = 500  # characters of the base's lock problem kept in the report


def head_revision(root: Path, env: Mapping[str, str]) -> Revision:
    """The workspace: HEAD's SHA and branch (the PR's head branch on Actions), and if dirty."""
    ref = env.get("GITHUB_HEAD_REF") or current_branch(root)
    dirty = is_dirty(root)
    return Revision(
        rev=resolve(root, "HEAD"),
        ref=ref,
        description="workspace",
        dirty=dirty,
    )


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Work from *path*: from a subdirectory, DVC would look for `metrics.files` there and
    name every file from there (`../../metrics.json`)."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def collect_report(root: Path, config: Config, base: BaseChoice, env: Mapping[str, str]) -> Report:
    # dvc.lock first: DVC reads it too, and would block on a FIFO there
    lock = read_head_lock(root)
    base_lock, base_lock_error = read_base_lock(root, base)
    with working_directory(root):  # DVC resolves targets and names files from the cwd
        check_workspace_reads(root, config)  # before DVC follows a symlink or opens a FIFO
        head_snapshot, base_snapshot = read_snapshots(
            root, base.rev, config.metrics.files, base_name=base.ref or None
        )
        plots, plots_omitted = read_plots(root, base.rev, base_name=base.ref or None)
    report = build_report(
        config,
        head=head_snapshot,
        base=base_snapshot,
        head_revision=head_revision(root, env),
        base_revision=Revision(rev=base.rev, ref=base.ref, description=base.description),
        lock=lock,
        base_lock=base_lock,
        base_lock_error=base_lock_error,
        registry=read_registry(root),  # one `git for-each-ref`: the model registry's tags
        plots=plots,
        plots_omitted=plots_omitted,
    )
    return attach_evidence(root, config, base, report)  # the per-row predictions' evidence


def read_head_lock(root: Path) -> Lock | None:
    """The workspace's dvc.lock, checked; None when there is none. A bad one stops the run."""
    path = resolve_inside(root, LOCK_FILE, what=LOCK_FILE)
    fix = "Run `dvc repro` to rewrite it."
    problem = special_file_problem(path)
    if problem:
        raise InputError(
            f"{path} {problem}, not the lock file DVC writes. Remove it and run `dvc repro` to "
            "rewrite it."
        )
    try:
        data = read_regular_file(path, what="The lock file", limit=MAX_LOCK_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror}).") from None
    try:
        return parse_lock(decode_lock(data))
    except LockError as exc:
        raise InputError(f"{path} {exc.reason}. {fix}") from None


def read_base_lock(root: Path, base: BaseChoice) -> tuple[Lock | None, str | None]:
    """The base's dvc.lock, and why it could not be read if it could not.

    A bad lock at the base is not the pull request's fault and must not block every pull
    request: the report says the base's lineage is unreadable, and the run goes on.
    """
    if base.rev is None:
        return None, None
    try:
        text = show_file(root, base.rev, LOCK_FILE, limit=MAX_LOCK_BYTES)
        return (parse_lock(text) if text is not None else None), None
    except LockError as exc:
        note = f"{LOCK_FILE} at {base.ref or base.rev[:12]} {exc.reason}."
    except InputError as exc:
        note = str(exc)
    return None, note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 3] + "..."
