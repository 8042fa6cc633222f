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
from mlops_ci.pipeline import read_lock, read_snapshots
from mlops_ci.reads import check_workspace_reads
from mlops_ci.report import Report, Revision
from mlops_ci.revisions import BaseChoice, current_branch, is_dirty, resolve, show_file

LOCK_FILE = "dvc.lock"


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
def _working_directory(path: Path) -> Iterator[None]:
    """Work from *path*: from a subdirectory, DVC would look for `metrics.files` there and
    name every file from there (`../../metrics.json`)."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def collect_report(root: Path, config: Config, base: BaseChoice, env: Mapping[str, str]) -> Report:
    with _working_directory(root):  # DVC resolves targets and names files from the cwd
        check_workspace_reads(root, config)  # before DVC follows a symlink or opens a FIFO
        head_snapshot, base_snapshot = read_snapshots(root, base.rev, config.metrics.files)
    lock_path = root / LOCK_FILE
    lock_text = lock_path.read_text(encoding="utf-8") if lock_path.exists() else None
    base_lock_text = show_file(root, base.rev, LOCK_FILE) if base.rev else None
    return build_report(
        config,
        head=head_snapshot,
        base=base_snapshot,
        head_revision=head_revision(root, env),
        base_revision=Revision(rev=base.rev, ref=base.ref, description=base.description),
        lock=read_lock(lock_text, source=LOCK_FILE),
        base_lock=read_lock(base_lock_text, source=f"{LOCK_FILE} at {base.ref or base.rev}"),
    )
