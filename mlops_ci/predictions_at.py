"""The per-row predictions files at head and at the base: where they are, read as files.

The head's is the workspace's ``evaluation.predictions``: inside the repository (or DVC's
cache, for the ``symlink`` cache type) and a regular file. The base's is a DVC output at the
base revision, never checked out: DVC's file system at that revision streams it from the local
cache, else from the default remote, into a temporary file (parquet needs a file it can seek
in), at most MAX_BYTES. A base that has none (the first change that adopts `mlops-ci evaluate`)
or whose file is in neither the cache nor the remote is no error: the note says why, with the
fix, in the sentences ``base_files`` gives a base's missing metrics.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.config import Config
from mlops_ci.errors import InputError
from mlops_ci.security import check_regular_file, resolve_in_workspace

if TYPE_CHECKING:
    from mlops_ci.evaluation.evidence import BaseSide

MAX_BYTES = 4 << 30  # 4 GiB: ten million rows with slices take a few hundred MB
_BLOCK = 1 << 20


def head_predictions(root: Path, config: Config) -> Path | None:
    """The workspace's predictions file, checked; None when there is none."""
    relative = config.evaluation.predictions
    real = resolve_in_workspace(root, relative, what="evaluation.predictions")
    check_regular_file(real, what="The predictions file")
    return real if real.is_file() else None


@contextmanager
def base_predictions(
    root: Path, rev: str | None, relative: str, *, base_name: str | None, limit: int = MAX_BYTES
) -> Iterator[BaseSide]:
    """The base's predictions file as a temporary copy (removed on exit), or why there is none."""
    from mlops_ci.evaluation.evidence import BaseSide

    if rev is None:
        yield BaseSide(None, "There is no base revision to compare with (a first run).")
        return
    where = base_name or rev[:12]
    with tempfile.TemporaryDirectory(prefix="mlops-ci-predictions-") as directory:
        target = Path(directory) / "base.parquet"
        note = _copy_at(root, rev, relative, target, where=where, limit=limit)
        if note is None:
            yield BaseSide(target, declared=True)
        else:
            yield BaseSide(None, note, declared=_declared(root, rev, relative))


def _copy_at(root: Path, rev: str, relative: str, target: Path, *, where: str, limit: int
             ) -> str | None:
    """Copy *relative* at *rev* to *target*; None when done, else why it could not be."""
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException

    from mlops_ci.pipeline import use_our_log_handlers

    use_our_log_handlers()
    try:
        fs = DVCFileSystem(str(root), rev=rev)
        try:
            info = fs.info(relative)
        except FileNotFoundError:
            return _missing(root, rev, relative, where=where)
        if info.get("type") != "file":
            return f"{relative} at {where} is not a file, so its predictions were not compared."
        size = info.get("size")
        if isinstance(size, int) and size > limit:
            return _too_large(relative, where, limit)
        copied = 0
        with fs.open(relative, "rb") as source, open(target, "wb") as out:
            while block := source.read(_BLOCK):
                copied += len(block)
                if copied > limit:
                    return _too_large(relative, where, limit)
                out.write(block)
    except FileNotFoundError:  # declared, with its hash, but in no cache DVC could reach
        return _missing(root, rev, relative, where=where)
    except (DvcException, OSError) as exc:
        return (
            f"{relative} at {where} could not be read ({type(exc).__name__}), so the base's "
            "predictions were not compared."
        )
    return None


def _too_large(relative: str, where: str, limit: int) -> str:
    size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
    return (
        f"{relative} at {where} is larger than {size}, more than mlops-ci reads "
        "for a base; its predictions were not compared."
    )


def _declared(root: Path, rev: str, relative: str) -> bool:
    from mlops_ci.base_files import declared_at

    return declared_at(root, rev).holder(relative) is not None


def _missing(root: Path, rev: str, relative: str, *, where: str) -> str:
    """Why the base has no predictions: it never made them, or they were not pushed."""
    from dvc.repo import Repo

    from mlops_ci.base_files import declared_at, default_remote, unreadable_reason

    try:
        with Repo(str(root)) as repo:
            remote = default_remote(repo)
    except Exception:  # a config DVC cannot read names no remote: the sentence still helps
        remote = None
    reason = unreadable_reason(
        relative, declared_at(root, rev), revision=where, branch=where.removeprefix("origin/"),
        remote=remote,
    )
    return reason or (
        f"{where} has no {relative}: its dvc.lock records no such output (the pipeline there "
        "never wrote it, as before `mlops-ci evaluate` was added), so there are no base "
        "predictions to compare with."
    )


def require_head(relative: str, gates: list[str]) -> InputError:
    """The error for gates that need the head's predictions when the workspace has none."""
    return InputError(
        f"{', '.join(gates)} {'needs' if len(gates) == 1 else 'need'} the per-row predictions "
        f"{relative}, which the workspace does not have. Run `mlops-ci evaluate` in the "
        "pipeline (it writes them), or set evaluation.predictions in mlops.yaml to the file "
        "it writes."
    )

