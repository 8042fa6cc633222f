"""Check every workspace file a report reads, before DVC reads it.

DVC reads the metrics and params files itself and follows symlinks, FIFOs and devices like
any other file: a metrics file linked to a secret outside the repository would be published
in the report, and a FIFO would hang the run. So the files DVC is about to read are listed
the way DVC lists them, and each must resolve inside the repository (or DVC's cache) and be
a regular file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.config import Config
from mlops_ci.errors import InputError
from mlops_ci.security import (
    check_regular_file,
    read_regular_file,
    resolve_in_workspace,
    yaml_expansion_problem,
)

if TYPE_CHECKING:
    from dvc.repo import Repo

DEFAULT_PARAMS_FILE = "params.yaml"
# What DVC opens before it reads any metric: the pipeline, its lock and its configuration.
DVC_FILES = ("dvc.yaml", "dvc.lock", ".dvc/config", ".dvc/config.local")
# The YAML that DVC loads, aliases expanded, before it lists a single metric.
YAML_DVC_PARSES = ("dvc.yaml", "dvc.lock", DEFAULT_PARAMS_FILE)


def check_workspace_reads(root: Path, config: Config) -> None:
    """Refuse (InputError naming the real path) a model, metrics or params file that escapes.

    DVC's own files come first: a FIFO there would hang DVC before any metric is listed.
    """
    check_pipeline_files(root)
    if config.model.path:  # "" when no mlops.yaml or artifact names a model file
        resolve_in_workspace(root, config.model.path, what="model.path")
    metrics, params = workspace_read_paths(root, config.metrics.files)
    for what, paths in (("The metrics file", metrics), ("The params file", params)):
        for relative in paths:
            real = resolve_in_workspace(root, relative, what=what)
            check_regular_file(real, what=what)


def check_pipeline_files(root: Path) -> None:
    """What DVC opens before anything else: regular files, and YAML of a sane expanded size.

    `run` calls it before `dvc repro` too, so a FIFO or an alias bomb fails in a second.
    """
    for name in DVC_FILES:
        check_regular_file(root / name, what="DVC's file")
    for name in YAML_DVC_PARSES:
        check_yaml_expansion(root, name)


def check_yaml_expansion(root: Path, name: str) -> None:
    """Refuse a YAML file that DVC would expand into billions of values (an alias bomb)."""
    what = "The params file" if name == DEFAULT_PARAMS_FILE else "DVC's file"
    path = resolve_in_workspace(root, name, what=what)
    try:
        data = read_regular_file(path, what=what)
    except FileNotFoundError:
        return
    problem = yaml_expansion_problem(data.decode("utf-8", errors="replace"))
    if problem:
        raise InputError(
            f"{path} {problem}, which DVC would load into memory whole; write the values out, "
            "or use fewer aliases."
        )


def workspace_read_paths(root: Path, metric_files: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The repository-relative metrics and params files `read_snapshots` makes DVC read."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            return _metrics_paths(repo, metric_files), _params_paths(repo)
    except DvcException as exc:
        # Not knowing what DVC would read, nothing is read: DVC's `repro` refuses it too.
        reason = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        raise InputError(
            f"DVC cannot read the pipeline in {root} ({reason}). Fix dvc.yaml, or run "
            "`dvc repro` to rewrite dvc.lock."
        ) from None


def _metrics_paths(repo: Repo, metric_files: tuple[str, ...]) -> list[str]:
    try:
        from dvc.repo.metrics.show import _collect_metrics
    except ImportError:  # a DVC that renamed it: the files it would certainly read
        return list(metric_files) or [_relative(repo, out.fs_path) for out in repo.index.metrics]
    return [_strip_root(path) for path in _collect_metrics(repo, targets=list(metric_files))]


def _params_paths(repo: Repo) -> list[str]:
    try:
        from dvc.repo.params.show import _collect_params
    except ImportError:
        paths = {_relative(repo, dep.fs_path) for dep in repo.index.params}
        return sorted(paths | {DEFAULT_PARAMS_FILE})
    return [_strip_root(path) for path in _collect_params(repo, default_file=DEFAULT_PARAMS_FILE)]


def _strip_root(path: str) -> str:
    """DVC's file system names files from its own root: ``/metrics.json``."""
    return path.lstrip("/")


def _relative(repo: Repo, fs_path: str) -> str:
    return str(repo.fs.relpath(fs_path, repo.root_dir))
