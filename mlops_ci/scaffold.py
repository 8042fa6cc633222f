"""`mlops-ci init DIR`: scaffold a complete, runnable example project that works offline.

The project is a git repository (a new one on branch ``main``, or the one already there) with
DVC initialised and one commit of the example: a prepare → train → evaluate pipeline for a
binary classifier on scikit-learn's bundled breast-cancer data, its params, and an mlops.yaml
with gates, its requirements.txt, and the GitHub workflows that run mlops-ci on it
(templates/workflows/, into .github/workflows/). Nothing is downloaded.

``--template NAME`` scaffolds another project instead (templates/projects/NAME/): a
classification and a regression one, each a prepare stage of its own followed by mlops-ci's
built-in stages `mlops-ci train` and `mlops-ci evaluate`, with slices, gates that ask for
evidence and DVC plots (whose custom templates init installs into .dvc/plots/).
"""

from __future__ import annotations

import difflib
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from mlops_ci.dvc_plot_templates import install_plot_templates
from mlops_ci.errors import InputError
from mlops_ci.proc import dvc_command, git, run
from mlops_ci.security import is_inside, special_file_problem

# Packaged names that cannot be shipped as dotfiles, and the names they get in the project.
RENAMES = {"gitignore": ".gitignore"}

# Used only when the user has no git identity, so that the first commit can be made.
FALLBACK_IDENTITY = ("mlops-ci", "mlops-ci@users.noreply.github.com")

# Files merged into the user's own rather than overwritten: their lines are added when missing.
MERGED = {".gitignore"}

# The workflows init writes into .github/workflows/ (templates/workflows/): one set-up for pull
# requests, either the single workflow or the fork-safe pair, never both (each would run the
# pipeline on every pull request), and the release workflow with either; with --deploy, the
# workflow that deploys a stage's model on every stage tag too.
WORKFLOWS_DIR = ".github/workflows"
SINGLE_WORKFLOWS = ("mlops-ci.yml", "mlops-ci-release.yml")
FORK_SAFE_WORKFLOWS = ("mlops-ci-report.yml", "mlops-ci-comment.yml", "mlops-ci-release.yml")
DEPLOY_WORKFLOW = "mlops-ci-deploy.yml"

# The projects `init --template NAME` writes instead of the default example (templates/project/).
TEMPLATES = ("classification", "regression")

# What `dvc init` writes (and stages) besides its ignored tmp/ directory.
DVC_INIT_FILES = [".dvc/config", ".dvc/.gitignore", ".dvcignore"]


def template_root(template: str | None = None) -> Traversable:
    """The packaged project: templates/project/ (the default), or templates/projects/NAME/."""
    packaged = resources.files("mlops_ci.templates")
    if template is None:
        return packaged / "project"
    if template not in TEMPLATES:
        close = difflib.get_close_matches(template, TEMPLATES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise InputError(
            f"--template {template!r} is not a template of mlops-ci init{hint}. Choose one of "
            f"{', '.join(TEMPLATES)}, or leave out --template for the default example."
        )
    return packaged / "projects" / template


def example_files(template: str | None = None) -> dict[str, Traversable]:
    """The project's files (templates/project/, or templates/projects/*template*/): path in
    the project → packaged file."""
    files: dict[str, Traversable] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            else:
                files[prefix + RENAMES.get(child.name, child.name)] = child

    walk(template_root(template), "")
    return dict(sorted(files.items()))


def workflow_files(*, fork_safe: bool = False, deploy: bool = False) -> dict[str, Traversable]:
    """The workflows init writes (templates/workflows/): path in the project → packaged file."""
    packaged = resources.files("mlops_ci.templates") / "workflows"
    names: tuple[str, ...] = FORK_SAFE_WORKFLOWS if fork_safe else SINGLE_WORKFLOWS
    names += (DEPLOY_WORKFLOW,) if deploy else ()
    return {f"{WORKFLOWS_DIR}/{name}": packaged / name for name in names}


def scaffold_files(
    *,
    workflows: bool = True,
    fork_safe: bool = False,
    deploy: bool = False,
    template: str | None = None,
) -> dict[str, Traversable]:
    """Everything init writes: the project (the default example, or *template*) and, with
    *workflows*, the workflows."""
    files = example_files(template)
    if workflows:
        files.update(workflow_files(fork_safe=fork_safe, deploy=deploy))
    return files


@dataclass(frozen=True)
class InitResult:
    directory: Path  # the project's real path
    files: list[str]  # the files init wrote, relative to it
    branch: str | None  # the branch the commit went on; None on a detached HEAD
    committed: bool  # False when the files were already committed as they are
    existing_repository: bool  # the directory was a git repository before init
    template: str | None = None  # the template scaffolded; None for the default example


def init_project(
    directory: Path,
    *,
    force: bool = False,
    workflows: bool = True,
    fork_safe: bool = False,
    deploy: bool = False,
    template: str | None = None,
) -> InitResult:
    """Write the example (or the project *template* names) into *directory*, make it a git +
    DVC repo and commit the example.

    With *workflows*, the GitHub workflows too (the fork-safe pair instead of the single
    pull-request workflow with *fork_safe*; the deploy workflow too with *deploy*); other
    files in .github/workflows/ stay as they are.
    Refuses, before writing anything, when a file it would write exists (unless *force*), or
    when something that is not a regular file stands where it writes one. In a repository
    that already exists it commits the files it wrote and nothing else: the user's staged,
    modified and untracked files stay as they were.
    """
    directory = directory.resolve()
    files = scaffold_files(
        workflows=workflows, fork_safe=fork_safe, deploy=deploy, template=template
    )
    _check_target(directory, list(files), force=force)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if name in MERGED and target.is_file():
                _merge_lines(target, source.read_text(encoding="utf-8"))
                continue
            with source.open("rb") as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
    except OSError as exc:
        where = exc.filename or directory
        raise InputError(
            f"Cannot write {where} ({exc.strerror}). Choose a directory you can write to."
        ) from None

    existing = (directory / ".git").exists()
    if not existing:
        git("init", "--quiet", "--initial-branch=main", cwd=directory)
    ours = list(files)
    if not (directory / ".dvc").exists():
        run(dvc_command("init", "--quiet"), cwd=directory, what="dvc init")
        ours += [name for name in DVC_INIT_FILES if (directory / name).exists()]
    written = list(files)
    if template:  # mlops-ci's DVC plot templates (the classification confusion matrix's)
        plot_templates = [
            path.relative_to(directory).as_posix() for path in install_plot_templates(directory)
        ]
        ours += plot_templates
        written += plot_templates
    what = f"the mlops-ci {template} project" if template else "the mlops-ci example project"
    committed = _commit_only(directory, ours, message=f"Scaffold {what}")
    branch = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=directory, check=False)
    return InitResult(
        directory=directory,
        files=written,
        branch=branch or None,
        committed=committed,
        existing_repository=existing,
        template=template,
    )


def _check_target(directory: Path, names: list[str], *, force: bool) -> None:
    """Every reason init would fail or destroy something, found before it writes a byte."""
    existing = directory
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        kind = special_file_problem(existing) or "is a file"
        if existing == directory:
            raise InputError(
                f"{directory} exists and {kind}, not a directory. Choose another path."
            )
        raise InputError(
            f"{existing} {kind}, so {directory} cannot be created under it. Choose a path "
            "that is not under a file."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"Cannot write in {existing} (permission denied). Choose another path.")
    if existing != directory:
        return  # a new directory: nothing in it yet
    clashes = []
    for name in names:
        target = directory / name
        real = Path(os.path.realpath(target))
        if not is_inside(real, directory):
            raise InputError(
                f"{target} leads to {real} through a symbolic link, outside {directory}; "
                "mlops-ci init writes only inside the directory. Remove the link."
            )
        for parent in reversed(target.relative_to(directory).parents[:-1]):
            if os.path.lexists(directory / parent) and not (directory / parent).is_dir():
                raise InputError(
                    f"{directory / parent} is a file where mlops-ci init needs a directory "
                    f"(for {name}). Remove it, or choose another directory."
                )
        if not os.path.lexists(target):
            continue
        problem = special_file_problem(target)
        if problem:
            raise InputError(
                f"{target} {problem} where mlops-ci init writes a file. Remove it, or choose "
                "another directory."
            )
        if name not in MERGED:
            clashes.append(name)
    if clashes and not force:
        shown = ", ".join(clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise InputError(
            f"{directory} already has {shown}; mlops-ci init does not overwrite files. "
            "Choose an empty directory, or pass --force to overwrite them."
        )


def _commit_only(directory: Path, paths: list[str], *, message: str) -> bool:
    """Commit *paths* and nothing else; other staged changes stay staged. False if unchanged."""
    git("add", "--", *paths, cwd=directory)
    if not git("status", "--porcelain", "--", *paths, cwd=directory):
        return False
    identity: list[str] = []
    if not git("config", "user.email", cwd=directory, check=False):
        identity = [
            "-c",
            f"user.name={FALLBACK_IDENTITY[0]}",
            "-c",
            f"user.email={FALLBACK_IDENTITY[1]}",
        ]
    git(
        *identity,
        "commit",
        "--quiet",
        "-m",
        message,
        "--only",
        "--",
        *paths,
        cwd=directory,
    )
    return True


def _merge_lines(target: Path, text: str) -> None:
    """Add to *target* the lines of *text* it does not have (``.mlops/`` in a .gitignore)."""
    current = target.read_text(encoding="utf-8", errors="surrogateescape")
    have = {line.strip() for line in current.splitlines()}
    missing = [line for line in text.splitlines() if line.strip() and line.strip() not in have]
    if not missing:
        return
    joined = "\n".join(missing) + "\n"
    with target.open("a", encoding="utf-8", errors="surrogateescape") as out:
        out.write(joined if not current or current.endswith("\n") else "\n" + joined)
