"""What several commands share: finding the project, its config, and where reports go."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.config import CONFIG_FILENAME, Config, load_config
from mlops_ci.errors import EXIT_GATE_FAILED, EXIT_OK, ConfigError
from mlops_ci.report import Report, load_report
from mlops_ci.revisions import (
    BaseChoice,
    default_base,
    ensure_dvc_repo,
    find_root,
    resolve_base,
)

CONFIG_VARIABLE = "MLOPS_CI_CONFIG"
DEFAULT_OUT_DIR = ".mlops"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
MODEL_CARD = "model-card.md"


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config


def open_project(cwd: Path, env: Mapping[str, str] | None = None) -> Project:
    """The git + DVC repository around *cwd* and its validated mlops.yaml.

    $MLOPS_CI_CONFIG (the action's `config` input) names another file in the repository root.
    """
    root = find_root(cwd)
    ensure_dvc_repo(root)
    named = (os.environ if env is None else env).get(CONFIG_VARIABLE, "")
    return Project(root=root, config=load_config(config_path(root, cwd, named)))


def config_path(root: Path, cwd: Path, named: str) -> Path:
    """mlops.yaml in *root*, or the file *named* (relative to *cwd*), which must lie in *root*:
    the paths inside it are relative to the repository root."""
    if not named:
        return root / CONFIG_FILENAME
    path = Path(os.path.realpath(cwd / named))
    if path.parent != Path(os.path.realpath(root)) or not path.is_file():
        raise ConfigError(
            f"{CONFIG_VARIABLE} (the action's input `config`) names {named!r}, which is not a "
            f"file in the repository root {root}: the paths in mlops.yaml are relative to the "
            "root, so keep the file there."
        )
    return path


def local_config(config_file: Path | None, env: Mapping[str, str]) -> Config | None:
    """The mlops.yaml a stage command reads (`train`, `evaluate`), or None when there is none.

    *config_file* (`--config`), else the file $MLOPS_CI_CONFIG names, else ./mlops.yaml when it
    exists; relative to the working directory (the stage's `wdir`). A file named explicitly
    must exist.
    """
    named = config_file or (Path(env[CONFIG_VARIABLE]) if env.get(CONFIG_VARIABLE) else None)
    path = named if named is not None else Path(CONFIG_FILENAME)
    if named is None and not (path.exists() or path.is_symlink()):
        return None
    return load_config(path, pipeline=False)


def choose_base(project: Project, *, base: str | None, env: Mapping[str, str]) -> BaseChoice:
    """The commit --base names, else the pull request's base: a RepositoryError if neither."""
    # `--base ''` is a mistake to report, not a request for the default
    if base is not None:
        return resolve_base(project.root, base, env)
    return default_base(project.root, env)


def compute_report(
    project: Project,
    *,
    base: str | None,
    env: Mapping[str, str],
    choice: BaseChoice | None = None,
) -> Report:
    """The workspace compared with *base* (default: the pull request's base), gates evaluated.

    *choice* is the base already chosen (`run` chooses it before the pipeline runs).
    """
    from mlops_ci.collect import collect_report  # DVC's readers: not for the stage commands

    if choice is None:
        choice = choose_base(project, base=base, env=env)
    return collect_report(project.root, project.config, choice, env)


def out_dir(project: Project, out: Path | None) -> Path:
    return out if out is not None else project.root / DEFAULT_OUT_DIR


def report_or_compute(
    project: Project, report_path: Path | None, *, env: Mapping[str, str]
) -> tuple[Report, Path | None]:
    """The report at *report_path*; without one, the default report or else a fresh diff."""
    if report_path is not None:
        return load_report(report_path), report_path
    default = project.root / DEFAULT_OUT_DIR / REPORT_JSON
    if default.exists():
        return load_report(default), default
    return compute_report(project, base=None, env=env), None


def exit_code(report: Report) -> int:
    return EXIT_OK if report.verdict.status == "pass" else EXIT_GATE_FAILED
