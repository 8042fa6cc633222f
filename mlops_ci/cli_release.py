"""`mlops-ci release`: declared here, registered by the import at the bottom of cli.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_ci.cli import TokenOption, _exit, app


@app.command()
def release(
    tag: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time on Python 3.10
        typer.Option(
            "--tag",
            metavar="<tag>",
            help="The release tag: vX.Y.Z for the repository's single model, NAME@vX.Y.Z for "
            "one of several. Default: the tag $GITHUB_REF names on a tag push.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check and assemble everything, print what would be published, write nothing.",
        ),
    ] = False,
    github_token: TokenOption = None,
) -> None:
    """Publish the tagged commit's model as a GitHub Release: model, card, report, metrics,
    params, dvc.lock, SHA256SUMS and a signature, with notes.

    Refused unless the commit is reproducible (dvc status clean, the model as dvc.lock
    records it), passes every error-severity gate against the previous release, and has the
    approvals release.require_approvals asks for.

    Exit code 0: released (or, with --dry-run, ready); 1: refused by a gate or the approvals;
    2: bad input.
    """
    from mlops_ci.commands.release import release as release_command

    _exit(
        release_command(
            cwd=Path.cwd(),
            tag=tag,
            dry_run=dry_run,
            env=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
            github_token=github_token,
        )
    )
