"""`mlops-ci diff`: the workspace's metrics and params against the base, without reproducing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TextIO

from mlops_ci.commands.common import compute_report, open_project
from mlops_ci.security import log_safe, log_safe_json

DiffFormat = Literal["table", "md", "json"]


def diff(
    *,
    cwd: Path,
    base: str | None,
    fmt: DiffFormat,
    env: Mapping[str, str],
    color: bool,
    stdout: TextIO,
) -> int:
    """Print the comparison; `--format json` prints the Report itself, for `gate` and `card`."""
    project = open_project(cwd)
    report = compute_report(project, base=base, env=env)
    if fmt == "json":
        stdout.write(log_safe_json(report.to_json()))
    elif fmt == "md":
        from mlops_ci.render import render_report_md

        stdout.write(log_safe(render_report_md(report, project.config.user_template_dir)))
    else:
        from mlops_ci.render_terminal import render_table

        stdout.write(render_table(report, color=color))
    return 0
