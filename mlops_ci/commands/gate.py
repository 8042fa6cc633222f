"""`mlops-ci gate`: judge a report by the gates in mlops.yaml; the exit code is the verdict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from mlops_ci.build import regate
from mlops_ci.commands.common import exit_code, open_project, report_or_compute
from mlops_ci.files import write_text_atomic


def gate(
    *,
    cwd: Path,
    report_path: Path | None,
    env: Mapping[str, str],
    color: bool,
    stdout: TextIO,
) -> int:
    """Evaluate mlops.yaml's current gates against the report's metrics.

    The metrics are not recomputed: editing a gate and running `gate` again is instant. The
    report file, when there is one, is updated with the new verdicts so the next step sees them.
    """
    project = open_project(cwd)
    report, source = report_or_compute(project, report_path, env=env)
    report = regate(report, project.config)
    if source is not None:
        write_text_atomic(source, report.to_json())

    from mlops_ci.render_terminal import render_table

    stdout.write(render_table(report, color=color))
    return exit_code(report)
