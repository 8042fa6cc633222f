"""`mlops-ci doctor`: is this repository ready for mlops-ci? Findings, and how to render them.

Each check is a function that returns findings (``doctor_checks``, ``doctor_dvc``,
``doctor_workflows``, ``doctor_token``); this module runs them in order and renders what they
found: the terminal lines, the job summary's markdown and the JSON document of ``--json``.

A finding is a *blocker* when ``mlops-ci run`` cannot succeed as the repository stands, here
or in a CI job (exit code 1); a *warning* when it runs but something it does would fail or a
fresh clone would miss data; *info* for what is worth knowing; *ok* for a check that passed.

A finding's text may quote what the repository's author wrote (a file name, a YAML error, a
workflow's value): it is rendered as inert text in markdown and defused on the terminal.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from mlops_ci.security import inert_text, log_safe

Level = Literal["ok", "info", "warning", "blocker"]
LEVELS: tuple[Level, ...] = ("ok", "info", "warning", "blocker")
GROUPS = ("git", "dvc", "config", "workflows", "token")

_MARKS: dict[Level, tuple[str, str]] = {  # terminal mark, its colour
    "ok": ("✓", "32"),
    "info": ("·", "2"),
    "warning": ("!", "33"),
    "blocker": ("✗", "31"),
}
_MD_MARKS: dict[Level, str] = {"ok": "✅", "info": "ℹ️", "warning": "⚠️", "blocker": "❌"}
JSON_VERSION = 1


@dataclass(frozen=True)
class Finding:
    """One check's result: what was found, where (file, key), and the fix when there is one."""

    group: str  # one of GROUPS
    check: str  # what was checked: "base", "remote", "mlops.yaml", ...
    level: Level
    message: str
    fix: str | None = None
    file: str | None = None  # relative to the repository, when a file is at fault
    key: str | None = None  # the key or value in that file


@dataclass(frozen=True)
class Diagnosis:
    root: Path
    findings: tuple[Finding, ...]

    @property
    def blockers(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "blocker")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "warning")

    @property
    def ready(self) -> bool:
        return not self.blockers


def diagnose(
    cwd: Path,
    *,
    env: Mapping[str, str],
    base: str | None = None,
    token: str | None = None,
) -> Diagnosis:
    """Run every check on the repository around *cwd*; *token* is already resolved."""
    from mlops_ci.doctor_checks import check_config, check_git
    from mlops_ci.doctor_dvc import check_dvc
    from mlops_ci.doctor_token import check_token
    from mlops_ci.doctor_workflows import check_workflows

    root, findings = check_git(cwd, env=env, base=base)
    if root is None:  # not a repository: nothing else can be found out
        return Diagnosis(cwd, tuple(findings))
    findings += check_dvc(root)
    findings += check_config(root)
    findings += check_workflows(root)
    findings += check_token(root, token, env=env)
    return Diagnosis(root, tuple(findings))


def exit_code(diagnosis: Diagnosis) -> int:
    return 0 if diagnosis.ready else 1


# --- rendering ---------------------------------------------------------------------------------


def summary_line(diagnosis: Diagnosis) -> str:
    blockers, warnings = len(diagnosis.blockers), len(diagnosis.warnings)
    counts = f"{_plural(blockers, 'blocker')}, {_plural(warnings, 'warning')}"
    if diagnosis.ready:
        return f"Ready for mlops-ci ({counts})."
    return f"Not ready: {counts}. Fix the blockers and run `mlops-ci doctor` again."


def render_text(diagnosis: Diagnosis, *, color: bool) -> str:
    """The terminal view: the findings grouped, one line each, the fix indented below."""
    lines = [_paint(f"mlops-ci doctor: {_terminal(str(diagnosis.root))}", "1", color)]
    for group, findings in _grouped(diagnosis.findings):
        lines += ["", _paint(group, "1", color)]
        for f in findings:
            mark, style = _MARKS[f.level]
            lines.append(
                f"  {_paint(mark, style, color)} {_terminal(f.check)}: {_terminal(f.message)}"
            )
            if f.fix:
                lines.append(f"      fix: {_terminal(f.fix)}")
    style = "1;31" if not diagnosis.ready else "1;33" if diagnosis.warnings else "1;32"
    lines += ["", _paint(summary_line(diagnosis), style, color)]
    return "\n".join(lines) + "\n"


def render_markdown(diagnosis: Diagnosis) -> str:
    """The job summary: a heading, then one list item per finding, all of it inert text."""
    lines = ["### mlops-ci doctor", "", inert_text(summary_line(diagnosis))]
    for group, findings in _grouped(diagnosis.findings):
        lines += ["", f"**{group}**", ""]
        for f in findings:
            item = f"- {_MD_MARKS[f.level]} {inert_text(f.check)}: {inert_text(f.message)}"
            if f.fix:
                item += f"<br>fix: {inert_text(f.fix)}"
            lines.append(item)
    return "\n".join(lines) + "\n"


def render_json(diagnosis: Diagnosis) -> str:
    document = {
        "doctor_version": JSON_VERSION,
        "root": str(diagnosis.root),
        "ready": diagnosis.ready,
        "blockers": len(diagnosis.blockers),
        "warnings": len(diagnosis.warnings),
        "findings": [asdict(f) for f in diagnosis.findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _grouped(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    order = {name: index for index, name in enumerate(GROUPS)}
    groups: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: order.get(f.group, len(order))):
        groups.setdefault(f.group, []).append(f)
    return list(groups.items())


def _terminal(text: str) -> str:
    """Text for one terminal line: no control characters, no workflow command at its start."""
    return log_safe("".join(
        " " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in " ".join(text.split())
    ))


def _paint(text: str, style: str, color: bool) -> str:
    return f"\x1b[{style}m{text}\x1b[0m" if color else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
