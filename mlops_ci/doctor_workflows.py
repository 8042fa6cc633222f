"""The doctor's look at `.github/workflows/`: present, YAML, running mlops-ci, least privilege.

Light and offline: each file is read as YAML (the bounded reader of mlops.yaml), a step that
uses the mlops-ci action is looked for (``uses: mlops-ci/mlops-ci@REF``, or a local ``./PATH``
whose action.yml is named mlops-ci), and the workflow or each job that runs it must say what
its token may do (``permissions:``). When an ``actionlint`` executable is on PATH, what it
finds is reported too.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_ci.doctor import Finding
from mlops_ci.errors import CommandError, ConfigError, InputError

WORKFLOWS_DIR = ".github/workflows"
ACTION_REPO = "mlops-ci/mlops-ci"
MAX_WORKFLOW_BYTES = 256 * 1024
ACTIONLINT_TIMEOUT = 30.0
_USES_ACTION = re.compile(rf"{re.escape(ACTION_REPO)}(/[^@]*)?@\S+", re.IGNORECASE)
_MAX_LINT_FINDINGS = 20
# What the job that runs mlops-ci needs its token to do (docs/github.md)
NEEDED_PERMISSIONS = "`permissions: {contents: read, pull-requests: write, statuses: write}`"


def check_workflows(root: Path) -> list[Finding]:
    from mlops_ci.security import read_regular_file, resolve_inside

    folder = root / WORKFLOWS_DIR
    try:  # a symlink may lead anywhere: nothing outside the repository is read, or quoted
        resolve_inside(root, WORKFLOWS_DIR, what="The workflows folder")
    except InputError as exc:
        return [Finding("workflows", "workflows", "blocker", str(exc),
                        fix=f"Make {WORKFLOWS_DIR} a directory of the repository.")]
    files = sorted(
        p for p in (folder.iterdir() if folder.is_dir() else ())
        if p.suffix in (".yml", ".yaml")
    )
    if not files:
        return [Finding(
            "workflows", "workflows", "warning",
            f"No workflow in {WORKFLOWS_DIR}/: nothing runs mlops-ci on pull requests.",
            fix=f"`mlops-ci init` writes the workflows; or add a step `uses: {ACTION_REPO}@v1`.",
        )]
    findings: list[Finding] = []
    users = 0
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            resolve_inside(root, rel, what="The workflow")
        except InputError as exc:
            findings.append(Finding("workflows", rel, "blocker", str(exc), file=rel,
                                    fix="Replace the link with the workflow file itself."))
            continue
        try:
            text = read_regular_file(path, what=rel, limit=MAX_WORKFLOW_BYTES).decode("utf-8")
            document = _parse(text, rel)
        except (InputError, ConfigError, OSError, UnicodeDecodeError) as exc:
            findings.append(Finding(
                "workflows", rel, "blocker", f"GitHub cannot run it: {exc}", file=rel,
                fix="Correct the file's YAML (GitHub ignores a workflow it cannot read).",
            ))
            continue
        jobs = _jobs_using_action(document, root)
        if not jobs:
            continue
        users += 1
        findings.append(_permissions(document, jobs, rel))
    if users == 0 and not any(f.level == "blocker" for f in findings):
        findings.append(Finding(
            "workflows", "workflows", "warning",
            f"None of the {len(files)} workflow(s) in {WORKFLOWS_DIR}/ uses the mlops-ci action.",
            fix=f"`mlops-ci init` writes the workflows; or add a step `uses: {ACTION_REPO}@v1`.",
        ))
    findings += _actionlint(root, files)
    return findings


def _parse(text: str, name: str) -> dict[str, Any]:
    from mlops_ci.config_yaml import parse_document

    document, _ = parse_document(text, name)
    if not isinstance(document, dict):
        raise ConfigError(f"{name} is not a mapping of workflow keys (`on:`, `jobs:`).")
    return document


def _jobs_using_action(document: Mapping[str, Any], root: Path) -> list[str]:
    """The names of the jobs with a step that runs the mlops-ci action."""
    jobs = document.get("jobs")
    found = []
    for name, job in (jobs.items() if isinstance(jobs, dict) else ()):
        steps = job.get("steps") if isinstance(job, dict) else None
        for step in steps if isinstance(steps, list) else ():
            uses = step.get("uses") if isinstance(step, dict) else None
            if isinstance(uses, str) and _is_mlops_ci(uses.strip(), root):
                found.append(str(name))
                break
    return found


def _is_mlops_ci(uses: str, root: Path) -> bool:
    if _USES_ACTION.fullmatch(uses):
        return True
    if not uses.startswith("./"):
        return False
    from mlops_ci.security import is_inside

    folder = (root / uses).resolve()
    if not is_inside(folder, root.resolve()):
        return False
    for name in ("action.yml", "action.yaml"):
        action = folder / name
        if action.is_file():
            try:
                document, _ = _parse_action(action)
            except (ConfigError, OSError, UnicodeDecodeError):
                return False
            return isinstance(document, dict) and document.get("name") == "mlops-ci"
    return False


def _parse_action(path: Path) -> tuple[object, object]:
    from mlops_ci.config_yaml import parse_document
    from mlops_ci.security import read_regular_file

    text = read_regular_file(path, what=path.name, limit=MAX_WORKFLOW_BYTES).decode("utf-8")
    return parse_document(text, path.name)


def _permissions(document: Mapping[str, Any], jobs: list[str], rel: str) -> Finding:
    jobs_map = document.get("jobs")
    assert isinstance(jobs_map, dict)
    if "permissions" in document:
        return Finding("workflows", rel, "ok",
                       f"runs mlops-ci ({', '.join(jobs)}), with `permissions:`", file=rel)
    bare = [name for name in jobs if "permissions" not in (jobs_map.get(name) or {})]
    if not bare:
        return Finding("workflows", rel, "ok",
                       f"runs mlops-ci ({', '.join(jobs)}), each job with `permissions:`",
                       file=rel)
    return Finding(
        "workflows", rel, "warning",
        f"runs mlops-ci in {', '.join(bare)} without `permissions:`, so its token gets the "
        "repository's default, which may allow every write.",
        file=rel, key="permissions",
        fix=f"Grant only what it needs: {NEEDED_PERMISSIONS} (and `contents: write` to release).",
    )


def _actionlint(root: Path, files: list[Path]) -> list[Finding]:
    from mlops_ci.proc import run

    binary = shutil.which("actionlint")
    if binary is None:
        return []
    relative = [p.relative_to(root).as_posix() for p in files]
    try:
        done = run([binary, "-oneline", "-no-color", *relative], cwd=root, check=False,
                   merge_stderr=False, timeout=ACTIONLINT_TIMEOUT, what="actionlint")
    except CommandError as exc:
        return [Finding("workflows", "actionlint", "warning", f"actionlint did not run: {exc}")]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode not in (0, 1):  # 2: actionlint's own failure, 3: a fatal error
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return [Finding("workflows", "actionlint", "warning",
                        f"actionlint failed (exit code {done.returncode}): {tail[0]}")]
    if not lines:
        return [Finding("workflows", "actionlint", "ok", "no findings")]
    found = [
        Finding("workflows", "actionlint", "warning", line, file=line.split(":", 1)[0],
                fix="Correct the workflow as actionlint says.")
        for line in lines[:_MAX_LINT_FINDINGS]
    ]
    if len(lines) > _MAX_LINT_FINDINGS:
        found.append(Finding("workflows", "actionlint", "info",
                             f"{len(lines) - _MAX_LINT_FINDINGS} more; run `actionlint`."))
    return found
