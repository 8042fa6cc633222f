"""The doctor's checks of git and mlops.yaml: each returns findings, none raises.

git: the repository, and the base `mlops-ci run` would compare with (the same choice:
``--base``, ``$GITHUB_BASE_REF``, main/master), reachable in this checkout's history.
mlops.yaml: loaded as `run` loads it. DVC's checks are in ``doctor_dvc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlops_ci.doctor import Finding
from mlops_ci.errors import ConfigError, RepositoryError

# --- git ---------------------------------------------------------------------------------------


def check_git(
    cwd: Path, *, env: Mapping[str, str], base: str | None
) -> tuple[Path | None, list[Finding]]:
    """The repository's root (None outside one) and what was found about its history."""
    from mlops_ci.revisions import (
        default_base,
        find_root,
        has_commits,
        is_shallow,
        resolve_base,
    )
    from mlops_ci.shallow import on_actions

    try:
        root = find_root(cwd)
    except RepositoryError as exc:
        return None, [Finding(
            "git", "repository", "blocker", str(exc),
            fix="`git clone` the project, or `git init` and commit; the other checks need one.",
        )]
    findings = [Finding("git", "repository", "ok", str(root))]
    if not has_commits(root):
        findings.append(Finding(
            "git", "base", "warning", "The repository has no commit yet: every metric is new.",
            fix="Commit the project (`git add -A && git commit`).",
        ))
        return root, findings
    shallow = is_shallow(root)
    # The doctor looks and never fetches: without GITHUB_ACTIONS, the base is resolved as
    # outside Actions, where nothing is fetched (shallow.py).
    looking = {k: v for k, v in env.items() if k != "GITHUB_ACTIONS"}
    try:
        choice = resolve_base(root, base) if base is not None else default_base(root, looking)
    except RepositoryError as exc:
        fix = None
        if shallow:
            fix = (
                "Check out the whole history: actions/checkout with `fetch-depth: 0`, or "
                "`git fetch --unshallow`. On GitHub Actions the mlops-ci action deepens a "
                "shallow checkout until it reaches the merge-base."
            )
        if shallow and on_actions(env):
            # `run` fetches what is missing here, within MLOPS_CI_FETCH_DEPTH: not a blocker
            findings.append(Finding(
                "git", "base", "warning",
                f"{exc} `mlops-ci run` fetches it from origin on Actions (the doctor fetches "
                "nothing).", fix=fix,
            ))
        else:
            findings.append(Finding("git", "base", "blocker", str(exc), fix=fix))
        return root, findings
    if choice.ref == "HEAD" and base is None:
        findings.append(Finding(
            "git", "base", "warning",
            "No main or master branch (and no $GITHUB_BASE_REF): `run` compares the "
            "workspace with HEAD.",
            fix="Pass `--base BRANCH`, or fetch the base branch (`git fetch origin main`).",
        ))
    else:
        where = " (a shallow clone, whose history reaches it)" if shallow else ""
        sha = (choice.rev or "")[:12]
        findings.append(Finding("git", "base", "ok", f"{choice.description}: {sha}{where}"))
    return root, findings


# --- mlops.yaml --------------------------------------------------------------------------------


def check_config(root: Path) -> list[Finding]:
    from mlops_ci.config import CONFIG_FILENAME, load_config

    path = root / CONFIG_FILENAME
    exists = path.exists() or path.is_symlink()
    if not exists and not (root / ".dvc").is_dir():  # the DVC check has said what to do
        return [Finding("config", CONFIG_FILENAME, "info",
                        "No mlops.yaml, in a directory that is not a DVC project yet.")]
    try:
        config = load_config(path)
    except ConfigError as exc:
        key = exc.location.key if exc.location else None
        return [Finding(
            "config", CONFIG_FILENAME, "blocker", str(exc), file=CONFIG_FILENAME, key=key,
            fix="Correct mlops.yaml as the message says (docs/configuration.md lists the keys).",
        )]
    if not exists:
        return [Finding(
            "config", CONFIG_FILENAME, "info",
            "No mlops.yaml: the defaults apply (no gates; the model from dvc.yaml's artifacts).",
            fix="Write an mlops.yaml to declare gates (docs/configuration.md).",
        )]
    gates = len(config.gates)
    return [Finding(
        "config", CONFIG_FILENAME, "ok", f"valid, {gates} gate{'' if gates == 1 else 's'}",
        file=CONFIG_FILENAME,
    )]
