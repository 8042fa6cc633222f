"""`mlops-ci card`: render the model card from a report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from mlops_ci.commands.common import MODEL_CARD, open_project, out_dir, report_or_compute
from mlops_ci.files import write_text_atomic
from mlops_ci.security import log_safe


def card(
    *,
    cwd: Path,
    report_path: Path | None,
    output: Path | None,
    env: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Write the card to *output* (default .mlops/model-card.md); ``-`` prints it instead."""
    project = open_project(cwd)
    report, _ = report_or_compute(project, report_path, env=env)

    from mlops_ci.card import render_card
    from mlops_ci.render_plots import root_from

    target = output if output is not None else out_dir(project, None) / MODEL_CARD
    where = cwd if output == Path("-") else target.parent
    images_from = root_from(where, project.root)
    text = render_card(report, project.config.user_template_dir, images_from=images_from)
    if output == Path("-"):
        stdout.write(log_safe(text))  # the card's prose is the pull request's
        return 0
    write_text_atomic(target, text)
    print(f"mlops-ci: wrote {target}", file=stderr)
    return 0
